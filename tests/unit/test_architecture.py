"""The core's boundaries, checked on the source: services see ports and domain types only, the domain is pure,
and no module of `botfleet` imports itself back through another (docs/internals.md, "Layers")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "layers" / "core"
PACKAGE = ROOT / "botfleet"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports_of(path: Path) -> set[str]:
    """Every module named by an import anywhere in the file (lazy imports inside functions count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_services_see_no_table_no_key_strings_and_no_adapters():
    pattern = re.compile(r'"pk"|"sk"|ConditionFailed|botfleet\.adapters|USER#|BOT#')
    offenders = [f"{path.name}:{number}: {line.strip()}"
                 for path in sorted((PACKAGE / "services").glob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_the_domain_is_pure():
    worldly = ("botfleet.adapters", "botfleet.services", "botfleet.runtime", "boto3", "botocore", "ccxt", "httpx",
               "openai", "aws_lambda_powertools")
    offenders = {name: sorted(i for i in imports_of(path) if i.startswith(worldly))
                 for name, path in modules().items() if name.startswith("botfleet.domain")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_import_circles():
    known = modules()
    graph = {name: {i for i in imports_of(path) if i in known and i != name} for name, path in known.items()}
    circles, seen = [], set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append([*trail[trail.index(name):], name])
            return
        if name in seen:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        seen.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert circles == []
