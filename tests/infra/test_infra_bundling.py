"""Layer assets: what ends up under python/ in LIGHT, and how FULL would build the deps (offline checks)."""

import subprocess
import sys
from pathlib import Path

import pytest

from botfleet_infra import bundling
from botfleet_infra.settings import REPO_ROOT


def _asset_dir(light, layer_fragment: str) -> Path:
    for logical_id, resource in light.resources_of_type("AWS::Lambda::LayerVersion").items():
        if layer_fragment in logical_id:
            return light.outdir / resource["Metadata"]["aws:asset:path"]
    raise AssertionError(f"no layer like {layer_fragment}")


def test_core_layer_is_python_botfleet_without_bytecode_in_light(light):
    asset = _asset_dir(light, "CoreLayer")
    assert [p.name for p in asset.iterdir()] == ["python"]
    assert [p.name for p in (asset / "python").iterdir()] == ["botfleet"]
    source = REPO_ROOT / "layers" / "core" / "botfleet"
    expected = {p.relative_to(source) for p in source.rglob("*.py") if "__pycache__" not in p.parts}
    bundled = {p.relative_to(asset / "python" / "botfleet") for p in (asset / "python" / "botfleet").rglob("*.py")}
    assert bundled == expected
    assert not list(asset.rglob("__pycache__")) and not list(asset.rglob("*.pyc"))


def test_deps_layer_is_a_placeholder_in_light(light):
    asset = _asset_dir(light, "DepsLayer")
    assert sorted(str(p.relative_to(asset)) for p in asset.rglob("*")) == ["python", "python/requirements.txt"]


def test_function_assets_are_the_function_dirs_without_junk(light, function_name):
    function = light.function(function_name)
    asset = light.outdir / function["Metadata"]["aws:asset:path"]
    assert (asset / "handler.py").read_text() == (REPO_ROOT / "functions" / function_name / "handler.py").read_text()
    assert not list(asset.rglob("__pycache__")) and not list(asset.rglob("*.pyc"))


def test_copy_bundler_byte_compiles_for_full(tmp_path, monkeypatch):
    # Compiles only when the synthesizing interpreter is the Lambda's version: pretend it is.
    monkeypatch.setattr(bundling, "PYTHON_VERSION", f"{sys.version_info.major}.{sys.version_info.minor}")
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    package = tmp_path / "src" / "pkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"junk")
    out = tmp_path / "out"
    assert bundling.CopyPackageBundler(package, byte_compile=True).try_bundle(str(out))
    compiled = list((out / "python" / "pkg" / "__pycache__").iterdir())
    assert [p.name for p in compiled] == [f"__init__.{tag}.pyc"]
    # UNCHECKED_HASH .pyc: flags word (bytes 4-8) has bit 0 (hash-based) set and bit 1 (check_source) clear.
    flags = int.from_bytes(compiled[0].read_bytes()[4:8], "little")
    assert flags == 0b01


def test_no_bytecode_for_another_interpreter_version(tmp_path, monkeypatch):
    monkeypatch.setattr(bundling, "PYTHON_VERSION", "2.7")
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    with pytest.warns(UserWarning, match="not byte-compiled"):
        bundling.CopyPackageBundler(package, byte_compile=True).try_bundle(str(tmp_path / "out"))
    assert not (tmp_path / "out" / "python" / "pkg" / "__pycache__").exists()


def test_pip_bundler_targets_the_lambda_platform(tmp_path, monkeypatch):
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        site = Path(command[command.index("--target") + 1])
        for name in ("pydantic", "botocore", "bin"):
            (site / name).mkdir(parents=True)
        (site / "botocore-1.0.dist-info").mkdir()
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(bundling.subprocess, "run", fake_run)
    requirements = REPO_ROOT / "layers" / "deps" / "requirements.txt"
    assert bundling.PipInstallBundler(requirements).try_bundle(str(tmp_path))
    (command,) = calls
    assert command[command.index("--platform") + 1] == "manylinux2014_x86_64"
    assert command[command.index("--python-version") + 1] == "3.13"
    assert "--only-binary=:all:" in command
    assert command[command.index("--target") + 1] == str(tmp_path / "python")
    # The Lambda runtime's own boto3/botocore must not be shadowed by the layer.
    assert sorted(p.name for p in (tmp_path / "python").iterdir()) == ["pydantic"]


def test_pip_bundler_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(
        bundling.subprocess, "run", lambda command, **_: subprocess.CompletedProcess(command, 1, "", "no network")
    )
    with pytest.raises(RuntimeError, match="no network"):
        bundling.PipInstallBundler(REPO_ROOT / "layers" / "deps" / "requirements.txt").try_bundle(str(tmp_path))
