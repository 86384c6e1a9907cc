"""DynamoDB's data-plane calls read and answered as the plain JSON they are on the wire.

moto 5.2.5 parses every request body through botocore's shape model into parameters and serializes every
result back through it, member by member. For the item calls that the functions make on every tick and
every WebSocket post (GetItem, Query, TransactWriteItems, ...) those two walks cost more than the call: with
1,000 sockets and a tick that fills 100 bots, they held the interpreter's lock half of the time the cloud
was busy (py-spy --gil), ahead of the operations themselves.

For these calls the shape walk changes nothing unless a value is binary or a timestamp: the AttributeValue
maps moto keeps are already in wire form (numbers as strings), and the JSON protocol adds nothing of its
own. So a request whose body has no binary attribute (`"B"`, `"BS"`) is read with `json.loads`, and a
result that `json.dumps` takes (no bytes, datetimes or Decimals) and that has no binary attribute is
written with it. Anything else, every other operation and every error take moto's own path.

`LOCAL_CLOUD_VERIFY_WIRE=1` runs moto's own path as well for every call taken here and raises
`WireMismatch` if the two differ. tests/integration/local_cloud/test_wire.py runs with it, over every
AttributeValue type; the other tiers do not (it would double moto's work), but any of them can be run with it.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

PLAIN_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
    "BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
})
# The type tags of binary AttributeValues, as a key anywhere in the JSON (an attribute *named* B matches too:
# that call takes moto's path, which is only slower). Inside a JSON string a quote is always escaped, so a
# string value cannot look like this.
_BINARY_TAG = re.compile(r'"BS?"\s*:')
CONTENT_TYPE = "application/x-amz-json-1.0"  # DynamoDB's protocol: json, jsonVersion 1.0
VERIFY_ENV = "LOCAL_CLOUD_VERIFY_WIRE"


class WireMismatch(AssertionError):
    """The plain-JSON path and moto's own disagreed about a call (verify mode only)."""


def _verify() -> bool:
    return os.environ.get(VERIFY_ENV) == "1"


def plain_request(action: str | None, body: bytes | str | None) -> dict[str, Any] | None:
    """The request's parameters when `action`'s body can be taken as it is, else None."""
    if action not in PLAIN_OPERATIONS or not body:
        return None
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if _BINARY_TAG.search(text):
        return None
    params = json.loads(text)
    return params if isinstance(params, dict) else None


@functools.cache
def output_members(action: str) -> frozenset[str]:
    """The top-level members of `action`'s output: moto's results carry a few more (e.g. DeleteItem's legacy
    ConsumedCapacityUnits), which its serializer leaves out, as AWS does."""
    from moto.core.utils import get_service_model

    return frozenset(get_service_model("dynamodb").operation_model(action).output_shape.members)


def plain_response(action: str | None, result: Any) -> str | None:
    """`result` as its JSON body when `action`'s result can be written as it is, else None."""
    if action not in PLAIN_OPERATIONS or not isinstance(result, dict):
        return None
    members = output_members(action)
    try:
        body = json.dumps({name: value for name, value in result.items() if name in members})
    except (TypeError, ValueError):  # bytes, datetimes, Decimals: moto's serializer knows their wire form
        return None
    return None if _BINARY_TAG.search(body) else body


def install() -> None:
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    original_parse = DynamoHandler.parse_parameters
    original_serialized = DynamoHandler.serialized

    def parse_parameters(self: Any, request: Any) -> None:
        params = plain_request(self._get_action(), request.data)
        if params is None:
            original_parse(self, request)
            return
        if _verify():
            original_parse(self, request)
            if self.params != params:
                raise WireMismatch(f"{self._get_action()} request: moto {self.params!r} != plain {params!r}")
        self.params = params

    def serialized(self: Any, action_result: Any) -> Any:
        # Only results moto wraps as they are: a paginated or empty result is reshaped by its own class.
        body = (plain_response(self._get_action(), action_result.result)
                if type(action_result) in (ActionResult, DynamoResult) else None)
        if body is None:
            return original_serialized(self, action_result)
        headers = {"Content-Type": CONTENT_TYPE, **self.response_headers}
        if _verify():
            status, moto_headers, moto_body = original_serialized(self, action_result)
            if (status, moto_headers, json.loads(moto_body)) != (200, headers, json.loads(body)):
                raise WireMismatch(f"{self._get_action()} response: moto {status} {moto_headers} {moto_body} "
                                   f"!= plain 200 {headers} {body}")
        return 200, headers, body

    DynamoHandler.parse_parameters = parse_parameters
    DynamoHandler.serialized = serialized
