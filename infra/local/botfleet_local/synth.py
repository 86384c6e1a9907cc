"""Synthesize the CDK app into a cloud assembly, with a cache keyed on the sources.

Synthesis costs 4-5 s (Node + jsii), a large share of the time to READY, so it is skipped when
no file that could change the template (under the watched roots: the CDK app, the function code,
the layers) changed since the last run. The key is a hash of (path, mtime, size) of every file
under those roots - cheap to compute and good enough for a developer loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("botfleet_local.synth")

# Never part of the key: caches, the assembly itself, virtualenvs.
_SKIP_DIRS = {"__pycache__", ".pytest_cache", "node_modules", "cdk.out", ".local", ".venv", ".git",
              ".ruff_cache"}
# The local cloud's own code (the directory holding this package) may sit under a watched root, as it does
# under infra/ here, but it cannot change the template.
_OWN_CODE = Path(__file__).resolve().parent.parent
# Context every local synth gets: construct paths in the template metadata (what schedule names are
# derived from).
PATH_METADATA = {"aws:cdk:enable-path-metadata": True}


@dataclass
class Assembly:
    """What a synth produced: the stack's template and its assets manifest."""

    outdir: Path
    stack_name: str
    template: dict
    assets: dict
    synthesized: bool  # False when the cache was used


def source_fingerprint(repo_root: Path, watched: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    own_code = _OWN_CODE.relative_to(repo_root).as_posix() if _OWN_CODE.is_relative_to(repo_root) else None
    for rel in watched:
        root = repo_root / rel
        if root.is_file():
            st = root.stat()
            h.update(f"{rel}|{st.st_mtime_ns}|{st.st_size}\n".encode())
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(repo_root)
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS
                                 and (rel_dir / d).as_posix() != own_code)
            for name in sorted(filenames):
                if name.endswith((".pyc", ".pyo")):
                    continue
                p = Path(dirpath) / name
                try:
                    st = p.stat()
                except FileNotFoundError:
                    continue
                h.update(f"{p.relative_to(repo_root)}|{st.st_mtime_ns}|{st.st_size}\n".encode())
    return h.hexdigest()


def _find_stack(outdir: Path, preferred: str | None) -> str:
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = [name for name, art in manifest.get("artifacts", {}).items()
              if art.get("type") == "aws:cloudformation:stack"]
    if not stacks:
        raise RuntimeError(f"no CloudFormation stack in {outdir}/manifest.json")
    if preferred and preferred in stacks:
        return preferred
    if len(stacks) > 1:
        log.warning("several stacks %s; using %s", stacks, stacks[0])
    return stacks[0]


def outdir_name(context: dict | None) -> str:
    """Where a synth with this extra context goes: each context its own assembly, so that runs alternating
    between contexts (e2e modules) reuse their cache instead of re-synthesizing every time."""
    if not context:
        return "cdk.out"
    return "cdk.out-" + hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()[:12]


def synthesize(repo_root: Path, *, app_command: str | list[str], watched: tuple[str, ...],
               outdir: Path | None = None, stack_name: str | None = None, force: bool = False,
               local_context: dict | None = None, context: dict | None = None) -> Assembly:
    """Run the CDK app (unless cached) and load the stack template and assets manifest.

    `app_command` runs with the repo root as cwd (a string is split with shlex) and must honour
    CDK_OUTDIR (cdk.App does by default); `watched` are the roots whose files key the cache.
    `local_context` is what every local synth of this app gets (the profile's), `context` a run's own
    on top (e.g. `{"botfleet:registrations_per_address_per_hour": 10000}`). Only `context` is part of the
    cache key: `local_context` comes with this package, whose code is not part of the key either (after
    changing either, `rm -r .local/cdk.out*`).
    """
    repo_root = Path(repo_root).resolve()
    outdir = Path(outdir) if outdir else repo_root / ".local" / "cdk.out"
    if isinstance(app_command, str):
        app_command = shlex.split(app_command)
    stamp = outdir.parent / (outdir.name + ".stamp")
    key = hashlib.sha256((source_fingerprint(repo_root, watched) + json.dumps(app_command)
                          + json.dumps(context or {}, sort_keys=True)).encode()).hexdigest()

    synthesized = False
    if force or not stamp.exists() or stamp.read_text() != key or not (outdir / "manifest.json").exists():
        t0 = time.monotonic()
        outdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["CDK_OUTDIR"] = str(outdir)
        ctx = json.loads(env.get("CDK_CONTEXT_JSON") or "{}")
        env["CDK_CONTEXT_JSON"] = json.dumps({**ctx, **(local_context or {}), **PATH_METADATA, **(context or {})})
        env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
        env.setdefault("JSII_DEPRECATED", "quiet")
        proc = subprocess.run(app_command, cwd=repo_root, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"CDK synth failed ({' '.join(app_command)}):\n{proc.stderr[-4000:]}")
        stamp.write_text(key)
        synthesized = True
        log.info("synthesized in %.1f s", time.monotonic() - t0)

    name = _find_stack(outdir, stack_name)
    template = json.loads((outdir / f"{name}.template.json").read_text())
    assets_file = outdir / f"{name}.assets.json"
    assets = json.loads(assets_file.read_text()) if assets_file.exists() else {"files": {}}
    return Assembly(outdir=outdir, stack_name=name, template=template, assets=assets,
                    synthesized=synthesized)
