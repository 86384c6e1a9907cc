"""Every route under /api/admin in the generated OpenAPI document answers 401 anonymous and 403 to a user.
The document is what clients see; enumerating it means a new admin route can't slip past the policy."""

import json
import re
from pathlib import Path

import pytest

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
ADMIN_OPERATIONS = [(method.upper(), re.sub(r"\{[^}]+\}", "x", path))
                    for path, operations in DOCUMENT["paths"].items() if path.startswith("/api/admin")
                    for method in operations]


def test_the_document_has_the_admin_routes():
    assert len(ADMIN_OPERATIONS) >= 13


@pytest.mark.parametrize(("method", "path"), ADMIN_OPERATIONS)
def test_admin_route_is_401_anonymous_and_403_for_a_user(api, method, path):
    token, _ = api.register()
    status, body = api.call("admin", method, path, {})
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    status, body = api.call("admin", method, path, {}, token=token)
    assert (status, body["error"]["code"]) == (403, "admin_required")


@pytest.mark.parametrize("path", [p for p in DOCUMENT["paths"] if not p.startswith("/api/admin")])
def test_every_admin_only_operation_is_marked_in_the_document(path):
    from botfleet.http.rbac import required_role

    for method, operation in DOCUMENT["paths"][path].items():
        role = required_role(method, path)
        assert (operation["security"] == []) == (role is None), (method, path)
