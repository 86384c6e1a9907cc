"""A thin, typed layer over the DynamoDB client: Python values in, Python values out (numbers are
Decimal), transactions, and opaque pagination cursors that cannot leave their partition."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from botfleet.errors import BadRequest

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def storable(value: Any) -> Any:
    """Computed results (numpy/Python floats, e.g. backtest metrics) as DynamoDB numbers: Decimals rounded to
    10 places, and None where a float is not finite (the serializer leaves None out). Money is Decimal already
    and never passes through here."""
    if isinstance(value, float):  # numpy floats too (repr of np.float64 is not a number in numpy 2)
        value = float(value)
        return Decimal(repr(round(value, 10))) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: storable(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [storable(inner) for inner in value]
    return value


def _serialize(value: Any) -> dict[str, Any]:
    """Like boto3's TypeSerializer, but numbers always in plain notation: str() of a Decimal from arithmetic
    can be '0E-8' or '1E-8', which moto's ADD cannot parse and which no reader of the table expects."""
    if isinstance(value, Decimal) and not isinstance(value, bool):
        text = format(value, "f") if value else "0"
        return {"N": text.rstrip("0").rstrip(".") if "." in text else text}
    if isinstance(value, dict):
        return {"M": {key: _serialize(inner) for key, inner in value.items() if inner is not None}}
    if isinstance(value, list | tuple):
        return {"L": [_serialize(inner) for inner in value]}
    return _serializer.serialize(value)


def to_dynamo(item: Item) -> dict[str, Any]:
    return {key: _serialize(value) for key, value in item.items() if value is not None}


def from_dynamo(item: dict[str, Any]) -> Item:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


class ConditionFailed(Exception):
    """A conditional write (or one in a transaction) did not hold; `reasons` per transaction item."""

    def __init__(self, reasons: list[str] | None = None):
        super().__init__(reasons)
        self.reasons = reasons or []


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, partition: tuple[str, str]) -> dict[str, Any] | None:
    """Decode a cursor we issued, and refuse one that points into another partition (another user's)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        attr, value = partition
        if not isinstance(key, dict) or key.get(attr, {}).get("S") != value:
            raise ValueError("cursor partition mismatch")
    except (ValueError, TypeError) as exc:
        raise BadRequest("cursor is not valid for this listing", code="invalid_cursor") from exc
    return key


class Table:
    def __init__(self, name: str, client: Any):
        self.name = name
        self.client = client

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> Item | None:
        reply = self.client.get_item(
            TableName=self.name, Key=to_dynamo({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        return from_dynamo(reply["Item"]) if "Item" in reply else None

    def put(self, item: Item, *, condition: str | None = None, names: dict | None = None,
            values: Item | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_dynamo(item)}
        _add_condition(kwargs, condition, names, values)
        self._write(self.client.put_item, kwargs)

    def update(self, pk: str, sk: str, expression: str, *, names: dict | None = None,
               values: Item | None = None, condition: str | None = None) -> Item:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_dynamo({"pk": pk, "sk": sk}),
            "UpdateExpression": expression,
            "ReturnValues": "ALL_NEW",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = to_dynamo(values)
        if condition:
            kwargs["ConditionExpression"] = condition
        reply = self._write(self.client.update_item, kwargs)
        return from_dynamo(reply["Attributes"])

    def delete(self, pk: str, sk: str, *, condition: str | None = None, values: Item | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": to_dynamo({"pk": pk, "sk": sk})}
        _add_condition(kwargs, condition, None, values)
        self._write(self.client.delete_item, kwargs)

    def query(
        self,
        key_condition: str,
        values: Item,
        *,
        index: str | None = None,
        names: dict | None = None,
        filter_expression: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        partition: tuple[str, str] | None = None,
        newest_first: bool = False,
    ) -> tuple[list[Item], str | None]:
        """One page of a Query. With a filter, keeps reading until `limit` matches or the end."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_dynamo(values),
            "ScanIndexForward": not newest_first,
        }
        if index:
            kwargs["IndexName"] = index
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if partition:
            start = decode_cursor(cursor, partition)
            if start:
                kwargs["ExclusiveStartKey"] = start
        items: list[Item] = []
        while True:
            if limit:
                kwargs["Limit"] = limit - len(items) if not filter_expression else max(limit, 25)
            reply = self.client.query(**kwargs)
            for raw in reply.get("Items", []):
                items.append(from_dynamo(raw))
                if limit and len(items) == limit:
                    return items, encode_cursor(_key_of(raw, index))
            last = reply.get("LastEvaluatedKey")
            if not last:
                return items, None
            kwargs["ExclusiveStartKey"] = last

    def query_all(self, key_condition: str, values: Item, **kwargs: Any) -> list[Item]:
        items, _ = self.query(key_condition, values, **kwargs)
        return items

    def transact(self, operations: Iterable[dict[str, Any]]) -> None:
        """Write all or nothing. Operations are `{"Put": {...}}` etc. with plain Python values."""
        prepared = [self._prepare(op) for op in operations]
        try:
            self.client.transact_write_items(TransactItems=prepared)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                raise ConditionFailed(reasons) from exc
            raise

    def delete_many(self, keys: list[tuple[str, str]]) -> None:
        """BatchWriteItem deletes, 25 at a time, retrying what DynamoDB hands back unprocessed."""
        for start in range(0, len(keys), 25):
            chunk = keys[start:start + 25]
            requests = [{"DeleteRequest": {"Key": to_dynamo({"pk": pk, "sk": sk})}} for pk, sk in chunk]
            pending = {self.name: requests}
            while pending:
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def describe(self) -> dict[str, Any]:
        return self.client.describe_table(TableName=self.name)["Table"]

    def _prepare(self, operation: dict[str, Any]) -> dict[str, Any]:
        ((kind, body),) = operation.items()
        body = dict(body, TableName=self.name)
        if "Item" in body:
            body["Item"] = to_dynamo(body["Item"])
        if "Key" in body:
            body["Key"] = to_dynamo(body["Key"])
        if "ExpressionAttributeValues" in body:
            body["ExpressionAttributeValues"] = to_dynamo(body["ExpressionAttributeValues"])
        return {kind: body}

    @staticmethod
    def _write(call, kwargs):
        try:
            return call(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionFailed(["ConditionalCheckFailed"]) from exc
            raise


def _add_condition(kwargs, condition, names, values):
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = to_dynamo(values)


def _key_of(raw: dict[str, Any], index: str | None) -> dict[str, Any]:
    """The LastEvaluatedKey DynamoDB expects to resume after `raw`: table keys plus the index's keys."""
    names = ["pk", "sk"] + ([f"{index}pk", f"{index}sk"] if index else [])
    return {name: raw[name] for name in names if name in raw}
