"""The FULL synth (what `cdk deploy` builds), for real, against Lambda's size limit.

The rest of this tier synthesizes LIGHT and fakes pip, so a deps layer that pip cannot build for the Lambda
platform (issue 13: numpy and pydantic-core need different manylinux tags) or one that outgrows Lambda's limit
would only show at deploy time. Here the app is synthesized in FULL mode once per session, with real pip
against the package registry, into cdk.out/full/ (git-ignored, kept between runs): layer assets are hashed on
their inputs, so a later run finds the bundled layers there and skips pip and byte-compiling.

The layers are byte-compiled, as a deploy from a Python 3.13 interpreter builds them (the biggest they get),
with a 3.13 interpreter found on this machine (bundling.LAMBDA_PYTHON_ENV); without one the sizes are those
without bytecode and the table says so. `make synth-full` runs this file alone and prints the table; it is
also written to cdk.out/full/lambda-sizes.txt.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from botfleet_infra import bundling
from botfleet_infra.app import create_app
from botfleet_infra.settings import LIGHT_CONTEXT_KEY, PYTHON_VERSION, REPO_ROOT

#: Kept between runs (cdk.out/ is git-ignored; `make clean` removes it). Not cdk.out itself: `make synth`
#: writes the LIGHT assembly there.
FULL_OUTDIR = REPO_ROOT / "cdk.out" / "full"
SIZES_FILE = FULL_OUTDIR / "lambda-sizes.txt"

#: Lambda's limit on a function's unzipped code plus all its layers: "250 MB", which is 250 MiB.
LAMBDA_UNZIPPED_LIMIT_BYTES = 262_144_000
MIB = 1024 * 1024

#: The deps layer's wheels must be built for the Lambda's interpreter (cp313) and a manylinux glibc.
CPYTHON_TAG = "cp" + PYTHON_VERSION.replace(".", "")
EXTENSION_SUFFIX = f".cpython-{CPYTHON_TAG.removeprefix('cp')}-x86_64-linux-gnu.so"


def _python_version_of(executable: str) -> str | None:
    probe = [executable, "-c", "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"]
    try:
        completed = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return None
    return completed.stdout.strip() or None


def _find_lambda_python() -> str | None:
    """A Python of the Lambda's version: the one named by BOTFLEET_LAMBDA_PYTHON, `python3.13` on PATH, or
    one of pyenv's versions (its shims only answer for the versions pyenv has activated)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        os.environ.get(bundling.LAMBDA_PYTHON_ENV),
        shutil.which(f"python{PYTHON_VERSION}"),
        *map(str, sorted(pyenv_root.glob(f"versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}"), reverse=True)),
    ]
    for candidate in filter(None, candidates):
        if _python_version_of(candidate) == PYTHON_VERSION:
            return candidate
    return None


@dataclass
class FullAssembly:
    outdir: Path
    resources: dict[str, Any]
    bytecode: bool

    def asset_dir(self, logical_id: str) -> Path:
        return self.outdir / self.resources[logical_id]["Metadata"]["aws:asset:path"]

    def layer_dir(self, fragment: str) -> Path:
        (logical_id,) = [
            logical_id
            for logical_id, resource in self.resources.items()
            if resource["Type"] == "AWS::Lambda::LayerVersion" and fragment in logical_id
        ]
        return self.asset_dir(logical_id)

    @property
    def deps_site(self) -> Path:
        return self.layer_dir("DepsLayer") / "python"


def _prune_stale_assets(outdir: Path, stack_artifact_id: str) -> None:
    """Drops the assets of earlier runs (every source edit makes a new one; an old deps layer is ~200 MB)."""
    manifest = json.loads((outdir / f"{stack_artifact_id}.assets.json").read_text())
    current = {entry["source"]["path"] for entry in manifest.get("files", {}).values()}
    for path in outdir.glob("asset.*"):
        if path.name in current:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


@pytest.fixture(scope="session")
def lambda_python() -> str | None:
    return _find_lambda_python()


@pytest.fixture(scope="session")
def full(lambda_python: str | None) -> Iterator[FullAssembly]:
    with pytest.MonkeyPatch.context() as patch:
        if lambda_python:
            patch.setenv(bundling.LAMBDA_PYTHON_ENV, lambda_python)
        app, stack = create_app(context={LIGHT_CONTEXT_KEY: False}, outdir=str(FULL_OUTDIR))
        app.synth()
    _prune_stale_assets(FULL_OUTDIR, stack.artifact_id)
    template = json.loads((FULL_OUTDIR / f"{stack.artifact_id}.template.json").read_text())
    yield FullAssembly(outdir=FULL_OUTDIR, resources=template["Resources"], bytecode=lambda_python is not None)


@functools.cache  # every function carries the same two layers
def _tree_bytes(directory: Path) -> int:
    """Unzipped size as Lambda counts it: the sum of the file sizes (of a zip's members, for a zipped asset such as
    CDK's AWS CLI layer of the dashboard's BucketDeployment)."""
    if directory.is_file() and zipfile.is_zipfile(directory):
        with zipfile.ZipFile(directory) as archive:
            return sum(member.file_size for member in archive.infolist())
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


@dataclass(frozen=True)
class FunctionSize:
    name: str
    code_bytes: int
    layer_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.code_bytes + self.layer_bytes


def _function_sizes(full: FullAssembly) -> list[FunctionSize]:
    """Every Lambda function of the template: its own code asset plus each of its layers' assets."""
    sizes = []
    for logical_id, resource in full.resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        service = properties.get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME", "")
        # Inline (ZipFile) code has no asset; it is at most 4 KB.
        code = _tree_bytes(full.asset_dir(logical_id)) if "S3Bucket" in properties["Code"] else 0
        layers = 0
        for layer in properties.get("Layers", []):
            assert set(layer) == {"Ref"}, f"{logical_id}: layer {layer} is not one of this stack's, cannot size it"
            layers += _tree_bytes(full.asset_dir(layer["Ref"]))
        sizes.append(FunctionSize(service.removeprefix("botfleet-") or logical_id, code, layers))
    return sorted(sizes, key=lambda size: size.name)


def _size_table(sizes: list[FunctionSize], full: FullAssembly) -> str:
    def mib(value: int) -> str:
        return f"{value / MIB:.2f}"

    width = max(len("function"), *(len(size.name) for size in sizes))
    lines = [f"{'function':<{width}}  {'code MB':>8}  {'layers MB':>9}  {'total MB':>8}"]
    lines += [
        f"{s.name:<{width}}  {mib(s.code_bytes):>8}  {mib(s.layer_bytes):>9}  {mib(s.total_bytes):>8}" for s in sizes
    ]
    deps, core = _tree_bytes(full.layer_dir("DepsLayer")), _tree_bytes(full.layer_dir("CoreLayer"))
    biggest = sorted(((_tree_bytes(p) if p.is_dir() else p.stat().st_size, p.name) for p in full.deps_site.iterdir()),
                     reverse=True)[:8]
    lines += [
        "",
        f"MB = 2^20 bytes; Lambda's limit is 250 MB ({LAMBDA_UNZIPPED_LIMIT_BYTES:,} bytes) of code plus layers, "
        "unzipped.",
        f"layers: deps {mib(deps)} MB + core {mib(core)} MB, "
        + (f"byte-compiled for Python {PYTHON_VERSION}" if full.bytecode else "WITHOUT bytecode (no Python "
           f"{PYTHON_VERSION} found; a deploy that byte-compiles adds about a third)"),
        "biggest in the deps layer: " + ", ".join(f"{name} {mib(size)}" for size, name in biggest),
    ]
    return "\n".join(lines) + "\n"


def test_every_function_fits_lambdas_unzipped_size_limit(full):
    sizes = _function_sizes(full)
    table = _size_table(sizes, full)
    print(f"\nLambda package sizes (FULL synth, {full.outdir.relative_to(REPO_ROOT)}):\n{table}")
    SIZES_FILE.write_text(table)
    assert len(sizes) >= 15, table  # every function of functions/, plus any CDK adds
    too_big = [size.name for size in sizes if size.total_bytes >= LAMBDA_UNZIPPED_LIMIT_BYTES]
    assert too_big == [], table


def _wheel_tags(site: Path, distribution: str) -> list[str]:
    (wheel,) = site.glob(f"{distribution}-*.dist-info/WHEEL")
    return [line.removeprefix("Tag: ") for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]


@pytest.mark.parametrize(("distribution", "extension"), [
    ("numpy", "numpy/_core/_multiarray_umath"),
    ("pydantic_core", "pydantic_core/_pydantic_core"),
])
def test_deps_layer_has_compiled_wheels_for_the_lambda_python(full, distribution, extension):
    assert (full.deps_site / f"{extension}{EXTENSION_SUFFIX}").is_file()
    tags = _wheel_tags(full.deps_site, distribution)
    assert tags and all(tag.startswith(f"{CPYTHON_TAG}-{CPYTHON_TAG}-manylinux") for tag in tags), tags
    assert all(tag.endswith("_x86_64") for tag in tags), tags


def test_deps_layer_leaves_boto3_to_the_runtime(full):
    for package in bundling.RUNTIME_PROVIDED_PACKAGES:
        assert not (full.deps_site / package).exists()
        assert not list(full.deps_site.glob(f"{package}-*.dist-info"))


def test_deps_layer_is_trimmed(full):
    site = full.deps_site
    assert (site / "ccxt" / "base" / "exchange.py").is_file()
    for module in bundling.UNUSED_DEPS_MODULES:
        assert not site.joinpath(*module.split(".")).exists(), module
        assert not list(site.glob(f"{module}-*.dist-info")), module
    assert not [p for name in bundling.DEPS_TEST_DIRS for p in site.rglob(name) if p.is_dir()]
    assert not list(site.rglob(bundling.DEPS_TYPING_STUBS))
    if full.bytecode:
        assert (site / "ccxt" / "__pycache__" / f"__init__.cpython-{CPYTHON_TAG.removeprefix('cp')}.pyc").is_file()


#: Runs on the Lambda's Python with nothing but the layers on sys.path (-I -S: no site-packages, no user
#: site, no PYTHON* variables): what a cold start imports from the trimmed deps layer, and the pure-Python
#: part of the core package (adapters and services import boto3, which the runtime provides and no layer has).
SMOKE_SCRIPT = """
import sys
sys.path[:0] = sys.argv[1:]
import argon2, cryptography.fernet, httpx, jwt, numpy, openai, prometheus_client, pydantic
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
import ccxt
for exchange in ("binance", "kucoin", "luno"):
    getattr(ccxt, exchange)()
assert numpy.convolve(numpy.ones(3), numpy.ones(2)).tolist() == [1.0, 2.0, 2.0, 1.0]
import pkgutil, importlib, botfleet.domain
for module in pkgutil.walk_packages(botfleet.domain.__path__, "botfleet.domain."):
    importlib.import_module(module.name)
print("ok", sys.version_info[:2], len(sys.modules))
"""


def test_layers_import_on_the_lambda_python(full, lambda_python):
    if lambda_python is None:
        pytest.skip(f"no Python {PYTHON_VERSION} on this machine (set {bundling.LAMBDA_PYTHON_ENV})")
    layers = [str(full.deps_site), str(full.layer_dir("CoreLayer") / "python")]
    completed = subprocess.run([lambda_python, "-I", "-S", "-B", "-c", SMOKE_SCRIPT, *layers],
                               capture_output=True, text=True, check=False, timeout=300)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert completed.stdout.startswith("ok"), completed.stdout


def _imported_modules(source: Path) -> Iterator[str]:
    """Every module an `import` names, with `from a import b` counted as both `a` and `a.b`."""
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_function_imports_what_the_deps_layer_trims():
    """LIGHT runs on the dev venv, which has every trimmed module: only this check sees a new import of one."""
    sources = [*REPO_ROOT.joinpath("layers").rglob("*.py"), *REPO_ROOT.joinpath("functions").rglob("*.py")]
    trimmed = bundling.UNUSED_DEPS_MODULES
    offending = sorted(
        f"{source.relative_to(REPO_ROOT)}: {module}"
        for source in sources
        for module in _imported_modules(source)
        if any(module == name or module.startswith(f"{name}.") for name in trimmed)
    )
    assert offending == []


def test_pip_is_offered_every_platform_the_pinned_wheels_need(monkeypatch, tmp_path):
    """Offline: the real synth above is what proves the platforms work; this pins how they are passed."""
    commands = []

    def fake_run(command, **_):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(bundling.subprocess, "run", fake_run)
    monkeypatch.setattr(bundling, "_byte_compile", lambda directory: None)
    bundling.PipInstallBundler(REPO_ROOT / "layers" / "deps" / "requirements.txt").try_bundle(str(tmp_path))
    (command,) = commands
    platforms = [command[i + 1] for i, argument in enumerate(command) if argument == "--platform"]
    assert platforms == ["manylinux2014_x86_64", "manylinux_2_28_x86_64"]


def test_a_lambda_python_of_another_version_fails_the_synth(monkeypatch):
    monkeypatch.setattr(bundling, "PYTHON_VERSION", "2.7")
    monkeypatch.setenv(bundling.LAMBDA_PYTHON_ENV, sys.executable)
    with pytest.raises(RuntimeError, match=r"not 2\.7"):
        bundling._bytecode_python()
