"""Local (Docker-free) bundling for the two Lambda layers.

CDK's default bundling runs a Docker container; there is no Docker engine where this project is built and
tested, so both layers are bundled in-process by `ILocalBundling` implementations. The Docker `image` CDK
insists on is a never-used fallback: every bundler below either succeeds or raises.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    FileSystem,
    ILocalBundling,
)
from aws_cdk import aws_lambda as lambda_

from botfleet_infra.settings import PIP_PLATFORMS, PYTHON_VERSION, BuildSettings

#: Never-used fallback image (CDK requires one even when local bundling always succeeds).
FALLBACK_IMAGE = DockerImage.from_registry(f"public.ecr.aws/sam/build-python{PYTHON_VERSION}")

#: Bump when a layer bundler's output changes for the same inputs: layer asset hashes are computed from the
#: inputs (sources, mode, platforms, bytecode or not), so a cloud assembly that already holds that hash is not
#: rebuilt. 2: both pip platforms (settings.PIP_PLATFORMS), unused parts of the deps layer trimmed.
LAYER_RECIPE_VERSION = "2"

#: Names a Python interpreter of the Lambda's version (settings.PYTHON_VERSION) to byte-compile the layers with
#: when the synthesizing one is another version, e.g. `BOTFLEET_LAMBDA_PYTHON=~/.pyenv/versions/3.13.0/bin/python
#: cdk deploy` from the 3.11 dev venv. Without bytecode every cold start compiles what it imports (ccxt's
#: exchange modules are large), in memory, since /opt is read-only.
LAMBDA_PYTHON_ENV = "BOTFLEET_LAMBDA_PYTHON"

#: Files that never belong in a Lambda asset.
ASSET_EXCLUDES = ["__pycache__", "*.pyc", "*.pyo", ".pytest_cache", "tests", "test_*.py", "*_test.py"]

_IGNORE_BUILD_JUNK = shutil.ignore_patterns(*ASSET_EXCLUDES)


def _bytecode_python() -> str | None:
    """The interpreter that byte-compiles the layers: the synthesizing one if it is the Lambda's version, else
    the one named by BOTFLEET_LAMBDA_PYTHON, else None (no bytecode).

    .pyc files only load on the interpreter version that wrote them, so a named interpreter of another version
    fails the synth instead of shipping dead weight.
    """
    if f"{sys.version_info.major}.{sys.version_info.minor}" == PYTHON_VERSION:
        return sys.executable
    named = os.environ.get(LAMBDA_PYTHON_ENV)
    if not named:
        return None
    probe = [named, "-c", "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"]
    reported = subprocess.run(probe, capture_output=True, text=True, check=False).stdout.strip()
    if reported != PYTHON_VERSION:
        raise RuntimeError(f"{LAMBDA_PYTHON_ENV}={named} is Python {reported or '?'}, not {PYTHON_VERSION}")
    return named


def _bytecode_tag() -> str:
    """Part of the layer asset hashes: the same sources with and without bytecode are different layers."""
    return "pyc" if _bytecode_python() else "py"


def _byte_compile(directory: Path) -> None:
    """Byte-compile a layer for faster cold starts.

    UNCHECKED_HASH because CDK zips assets with a fixed timestamp: timestamp-validated .pyc files would all
    look stale at runtime (and /opt is read-only, so they would be recompiled in memory on every cold start).
    The .pyc files are only useful for the Lambda's interpreter version, so compile only with that version.
    """
    python = _bytecode_python()
    if python is None:
        warnings.warn(
            f"synthesizing with Python {sys.version_info.major}.{sys.version_info.minor}: the layer is not "
            f"byte-compiled (the Lambda runtime is {PYTHON_VERSION}; {LAMBDA_PYTHON_ENV} can name one)",
            stacklevel=2,
        )
        return
    if python == sys.executable:
        ok = compileall.compile_dir(
            str(directory), quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        details = ""
    else:
        command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(directory)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        ok, details = completed.returncode == 0, f":\n{completed.stdout}\n{completed.stderr}"
    if not ok:
        raise RuntimeError(f"byte-compiling {directory} failed{details}")


@jsii.implements(ILocalBundling)
class CopyPackageBundler:
    """Copies a Python package into `<out>/python/<package>` (where Lambda layers put importable code)."""

    def __init__(self, package_dir: Path, *, byte_compile: bool) -> None:
        self._package_dir = package_dir
        self._byte_compile = byte_compile

    def try_bundle(self, output_dir: str, options: BundlingOptions | None = None) -> bool:
        target = Path(output_dir, "python", self._package_dir.name)
        shutil.copytree(self._package_dir, target, ignore=_IGNORE_BUILD_JUNK, dirs_exist_ok=True)
        if self._byte_compile:
            _byte_compile(target)
        return True


#: Packages the Lambda Python runtime already ships together (boto3 pins its botocore and s3transfer).
#: aws-xray-sdk pulls botocore in; a layer copy would shadow the runtime's botocore (/opt/python comes first
#: on sys.path) while boto3 still comes from the runtime: a mismatched pair, and ~30 MB for nothing.
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer")


#: Modules of the deps layer that no function imports, removed after pip: the deps layer is most of each
#: function's 250 MB (unzipped) allowance, and bytes nothing loads still slow every deployment. Safe because
#: botfleet uses ccxt's synchronous clients only (`import ccxt`, adapters/exchanges/ccxt_client.py);
#: tests/infra/test_full_synth.py fails if a source under layers/ or functions/ imports any of them.
UNUSED_DEPS_MODULES = (
    "ccxt.async_support",  # ccxt's asyncio clients: a second copy of every exchange (~25 MB with bytecode)
    "ccxt.pro",  # its WebSocket streaming clients, built on async_support
    "ccxt.prediction",  # its prediction-market clients (Polymarket, Kalshi...), not exchanges botfleet trades on
    "ccxt.test",  # its own test suite
    # The transport of ccxt's asyncio clients, pulled in by ccxt's requirements only. The sync clients use
    # requests, openai uses httpx2 and our VALR/OVEX clients httpx; Powertools, anyio and openai import
    # aiohttp/uvloop only when asked to (an aiohttp tracer, a uvloop backend, DefaultAioHttpClient).
    "aiohttp",
    "aiohttp_fast_zlib",
    "zlib_ng",
    "uvloop",  # ~15 MB
    "yarl",
    "multidict",
    "propcache",
    "frozenlist",
    "aiosignal",
    "aiohappyeyeballs",
)

#: Directory names and file patterns in the deps layer that only test runners and type checkers read: the
#: packages' own test suites (numpy's alone are ~8 MB; no package imports its tests) and .pyi stubs.
DEPS_TEST_DIRS = ("tests",)
DEPS_TYPING_STUBS = "*.pyi"


def _remove_module(site_dir: Path, module: str) -> None:
    """Removes a module (package directory or single file) and, for a top-level one, its dist-info, so that
    importlib.metadata does not report a distribution whose code is gone."""
    path = site_dir.joinpath(*module.split("."))
    shutil.rmtree(path, ignore_errors=True)
    for single_file in [path.with_suffix(".py"), *path.parent.glob(f"{path.name}.*.so")]:
        single_file.unlink(missing_ok=True)
    if "." not in module:
        for dist_info in site_dir.glob(f"{module}-*.dist-info"):
            shutil.rmtree(dist_info)


def _remove_runtime_provided_packages(site_dir: Path) -> None:
    for package in RUNTIME_PROVIDED_PACKAGES:
        _remove_module(site_dir, package)
    # Console scripts of the installed packages: nothing runs them inside a layer.
    shutil.rmtree(site_dir / "bin", ignore_errors=True)


def _trim_unused(site_dir: Path) -> None:
    for module in UNUSED_DEPS_MODULES:
        _remove_module(site_dir, module)
    for name in DEPS_TEST_DIRS:
        for directory in sorted(site_dir.rglob(name)):
            if directory.is_dir():  # also skips one already removed with an enclosing tests/ directory
                shutil.rmtree(directory)
    for stub in site_dir.rglob(DEPS_TYPING_STUBS):
        stub.unlink()


@jsii.implements(ILocalBundling)
class PipInstallBundler:
    """`pip install -r requirements.txt --target <out>/python` for the Lambda platform, not the host's."""

    def __init__(self, requirements_file: Path) -> None:
        self._requirements_file = requirements_file

    def try_bundle(self, output_dir: str, options: BundlingOptions | None = None) -> bool:
        target = Path(output_dir, "python")
        command = [
            sys.executable, "-m", "pip", "install",
            "--requirement", str(self._requirements_file),
            "--target", str(target),
            *(argument for platform in PIP_PLATFORMS for argument in ("--platform", platform)),
            "--implementation", "cp",
            "--python-version", PYTHON_VERSION,
            "--only-binary=:all:",
            "--no-compile",  # compiled below with UNCHECKED_HASH, see _byte_compile
            "--disable-pip-version-check",
            "--quiet",
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            # Raise rather than return False: False would make CDK fall back to Docker, which is not here.
            raise RuntimeError(f"building the deps layer failed:\n{completed.stdout}\n{completed.stderr}")
        _remove_runtime_provided_packages(target)
        _trim_unused(target)
        _byte_compile(target)
        return True


@jsii.implements(ILocalBundling)
class RequirementsOnlyBundler:
    """LIGHT mode deps layer: just `python/requirements.txt`, so the asset says what FULL would install.

    Nothing is importable from it; LIGHT consumers (tests, the local cloud) run with the dev venv's packages.
    """

    def __init__(self, requirements_file: Path) -> None:
        self._requirements_file = requirements_file

    def try_bundle(self, output_dir: str, options: BundlingOptions | None = None) -> bool:
        target = Path(output_dir, "python")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self._requirements_file, target / "requirements.txt")
        return True


def _bundled_asset(source: Path, bundler: ILocalBundling, asset_hash: str) -> lambda_.AssetCode:
    return lambda_.Code.from_asset(
        str(source),
        # A custom hash keyed on the inputs (and the mode) lets CDK skip re-bundling when an asset with that
        # hash is already in the cloud assembly, and keeps LIGHT and FULL outputs from colliding.
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash,
        bundling=BundlingOptions(image=FALLBACK_IMAGE, local=bundler),
    )


def core_layer_code(settings: BuildSettings) -> lambda_.AssetCode:
    """The `botfleet` package as `python/botfleet/...`, byte-compiled in FULL mode."""
    package_dir = settings.path("layers", "core", "botfleet")
    fingerprint = FileSystem.fingerprint(
        str(package_dir),
        exclude=ASSET_EXCLUDES,
        extra_hash=f"{settings.mode_name}:{PYTHON_VERSION}:{LAYER_RECIPE_VERSION}"
        + ("" if settings.light else f":{_bytecode_tag()}"),
    )
    return _bundled_asset(package_dir, CopyPackageBundler(package_dir, byte_compile=not settings.light), fingerprint)


def deps_layer_code(settings: BuildSettings) -> lambda_.AssetCode:
    """Third-party runtime dependencies: pip-installed for Lambda in FULL, a placeholder in LIGHT."""
    requirements_file = settings.path("layers", "deps", "requirements.txt")
    platforms = ",".join(PIP_PLATFORMS)
    extra = (
        settings.mode_name
        if settings.light
        else f"full:{platforms}:{PYTHON_VERSION}:{LAYER_RECIPE_VERSION}:{_bytecode_tag()}"
    )
    fingerprint = FileSystem.fingerprint(str(requirements_file), extra_hash=extra)
    bundler = RequirementsOnlyBundler(requirements_file) if settings.light else PipInstallBundler(requirements_file)
    return _bundled_asset(requirements_file.parent, bundler, fingerprint)


def function_code(settings: BuildSettings, name: str) -> lambda_.AssetCode:
    """A function's own directory, as is: handlers are plain Python, there is nothing to build."""
    return lambda_.Code.from_asset(str(settings.path("functions", name)), exclude=ASSET_EXCLUDES)
