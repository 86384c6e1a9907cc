"""botfleet's local cloud: runs the synthesized CDK template on this machine, on top of moto.

See infra/local/README.md. Entry points: `botfleet_local.cloud.LocalCloud` and the `botfleet` CLI.
"""

__all__ = ["LocalCloud"]


def __getattr__(name: str):
    if name == "LocalCloud":  # lazy: importing the package must not import moto
        from .cloud import LocalCloud

        return LocalCloud
    raise AttributeError(name)
