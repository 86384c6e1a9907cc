"""Generate docs/openapi.json from the REST functions' own routes (powertools), or check it for drift.

    python scripts/openapi.py --write   # regenerate
    python scripts/openapi.py --check   # exit 1 if the committed document differs from the code
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
REST_FUNCTIONS = ("auth", "bots", "ops", "admin", "keys", "training", "quarantine", "assistant")
# Everything needs a bearer token except these (API.md conventions).
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "description": "snake_case, stable"},
        "message": {"type": "string", "description": "human text; names the field on 422"}}}},
}


# Handlers validate their settings at import (botfleet.settings); the schema needs none of the values.
STAND_IN_ENV = {"TABLE_NAME": "openapi", "JWT_SECRET_ARN": "openapi", "TICK_SHARDS": "1", "KEYS_KMS_KEY_ID": "openapi",
                "TRAINING_STATE_MACHINE_ARN": "openapi"}


def _load(name: str):
    for key, value in STAND_IN_ENV.items():
        os.environ.setdefault(key, value)
    spec = importlib.util.spec_from_file_location(f"openapi_{name}", ROOT / "functions" / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' postponed annotations through it
    spec.loader.exec_module(module)
    return module.app


def build() -> dict:
    import botfleet
    from botfleet.http.rbac import required_role

    document: dict = {
        "openapi": "3.1.0",
        "info": {"title": "botfleet API", "version": botfleet.__version__,
                 "description": "REST API of botfleet. The contract is shared/API.md; this file is generated."},
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                                      "bearerFormat": "JWT"}}},
    }
    for name in REST_FUNCTIONS:
        schema = json.loads(_load(name).get_openapi_json_schema(title="botfleet", version=botfleet.__version__))
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                operation["tags"] = [name]
                # Our errors have the contract's shape, not powertools' default HTTPValidationError.
                operation["responses"].pop("422", None)
                operation["responses"]["4XX"] = {"description": "error (API.md status codes)", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                # Who may call it comes from the one RBAC policy the functions enforce.
                operation["security"] = [] if required_role(method, path) is None else [{"bearer": []}]
            document["paths"].setdefault(path, {}).update(operations)
        schemas = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        document["components"]["schemas"].update(schemas)
    document["components"]["schemas"]["Error"] = ERROR_SCHEMA
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = json.dumps(build(), indent=2, sort_keys=False) + "\n"
    if args.write:
        DOCUMENT.write_text(text)
        print(f"wrote {DOCUMENT.relative_to(ROOT)}")
        return 0
    if DOCUMENT.exists() and DOCUMENT.read_text() == text:
        print("docs/openapi.json is up to date")
        return 0
    print("docs/openapi.json is out of date: run `make openapi` and commit it", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
