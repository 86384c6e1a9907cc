"""A thin, typed layer over the DynamoDB client: Python values in, Python values out (numbers are
Decimal), transactions, and opaque pagination cursors that cannot leave their partition."""

from __future__ import annotations

import base64
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from botfleet.errors import BadRequest, WriteConflict


class _ExactDeserializer(TypeDeserializer):
    """boto3 reads numbers through a 38-digit context that raises `decimal.Rounded` on anything longer; one
    such item (written before the edge bounded amounts) then made every read of it, and the tick of its whole
    shard, fail. Numbers are read exactly as stored instead; what a longer one means is the domain's call."""

    def _deserialize_n(self, value: str) -> Decimal:
        return Decimal(value)


_serializer = TypeSerializer()
_deserializer = _ExactDeserializer()

# What DynamoDB stores exactly (its Number type): 38 significant digits, magnitude within 1E-130 .. 1E+126.
MAX_DIGITS, MIN_EXPONENT, MAX_EXPONENT = 38, -130, 125


class UnstorableNumber(ValueError):
    """A number the table would refuse or could not give back exactly: a bug upstream, never written."""

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
        if value and (not value.is_finite() or _significant_digits(value) > MAX_DIGITS
                      or not MIN_EXPONENT <= value.adjusted() <= MAX_EXPONENT):
            raise UnstorableNumber(f"{value!s:.60} is not storable as a DynamoDB number")
        text = format(value, "f") if value else "0"
        return {"N": text.rstrip("0").rstrip(".") if "." in text else text}
    if isinstance(value, dict):
        return {"M": {key: _serialize(inner) for key, inner in value.items() if inner is not None}}
    if isinstance(value, list | tuple):
        return {"L": [_serialize(inner) for inner in value]}
    return _serializer.serialize(value)


def _significant_digits(value: Decimal) -> int:
    """Without normalize(), which rounds to the context's 28 digits."""
    return len("".join(map(str, value.as_tuple().digits)).strip("0")) or 1


def to_dynamo(item: Item) -> dict[str, Any]:
    return {key: _serialize(value) for key, value in item.items() if value is not None}


def from_dynamo(item: dict[str, Any]) -> Item:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


class ConditionFailed(WriteConflict):
    """A conditional write (or one in a transaction) did not hold; `reasons` per transaction item."""

    def __init__(self, reasons: list[str] | None = None):
        super().__init__(reasons)
        self.reasons = reasons or []


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


# A transaction cancelled for these reasons wrote nothing and may succeed if sent again (DynamoDB's advice).
_TRANSIENT = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
TRANSACT_ATTEMPTS = 4

# Reads of one filtered listing request (each evaluates up to max(limit, 25) items): up to 2,000 items of history
# at the largest limit, a few hundred milliseconds of DynamoDB; the client follows the cursor for more.
FILTERED_PAGES = 10
#: BatchGetItem calls of one get_many in flight at once: a fleet-wide read is ~100 of them per 10,000 bots, each a
#: round trip, so one after another they would be most of its time.
GET_MANY_IN_FLIGHT = 8

_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})


def decode_cursor(cursor: str | None, partition: tuple[str, str]) -> dict[str, Any] | None:
    """Decode a cursor we issued, and refuse anything else: not base64 JSON, not a key of string attributes we
    index on, without the table's own key, or pointing into another partition (another user's)."""
    if not cursor:
        return None
    try:
        if len(cursor) > 2048:
            raise ValueError("cursor too long")
        key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(key, dict) or not {"pk", "sk"} <= key.keys() <= _KEY_ATTRIBUTES:
            raise ValueError("not a key")
        for value in key.values():
            if not (isinstance(value, dict) and value.keys() == {"S"} and isinstance(value["S"], str)
                    and 0 < len(value["S"]) <= 1024):
                raise ValueError("not a string key attribute")
        attr, expected = partition
        if key.get(attr, {}).get("S") != expected:
            raise ValueError("cursor partition mismatch")
    except (ValueError, TypeError, RecursionError) as exc:  # binascii.Error and UnicodeError are ValueErrors
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

    def exists(self, pk: str, sk: str) -> bool:
        return "Item" in self.client.get_item(TableName=self.name, Key=to_dynamo({"pk": pk, "sk": sk}))

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

    def increment(self, pk: str, sk: str, counter: str, entity: str, expires_at: int) -> int:
        """Count one more in a self-expiring counter item (created on first use); returns the new count."""
        item = self.update(pk, sk, "ADD #counter :one SET entity = :entity, expires_at = :expires",
                           names={"#counter": counter},
                           values={":one": 1, ":entity": entity, ":expires": expires_at})
        return int(item[counter])

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
        attributes: Sequence[str] | None = None,
    ) -> tuple[list[Item], str | None]:
        """One page of a Query. With a filter, keeps reading until `limit` matches or the end; a listing that hands
        out cursors (`partition` given: a client's request) stops after FILTERED_PAGES reads, with what matched so
        far (maybe nothing) and a cursor where the reading stopped, so a filter that matches little in a long
        history costs a request a bounded read, never the function's time. Without `partition` (the server's own
        questions, such as "is there another admin?") it reads to the answer."""
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
        if attributes:
            keys = ("pk", "sk", *((f"{index}pk", f"{index}sk") if index else ()))  # a cursor is made of them
            projection = _projection([*keys, *attributes])
            kwargs["ProjectionExpression"] = projection["ProjectionExpression"]
            kwargs["ExpressionAttributeNames"] = {**(names or {}), **projection["ExpressionAttributeNames"]}
        if partition:
            start = decode_cursor(cursor, partition)
            if start:
                kwargs["ExclusiveStartKey"] = start
        items: list[Item] = []
        reads = 0
        while True:
            reads += 1
            if limit:
                kwargs["Limit"] = limit - len(items) if not filter_expression else max(limit, 25)
            try:
                reply = self.client.query(**kwargs)
            except ClientError as exc:
                # A well-formed cursor of ours that DynamoDB still refuses (e.g. the index keys of another
                # listing) is the client's mistake, not ours.
                if cursor and exc.response["Error"]["Code"] == "ValidationException":
                    raise BadRequest("cursor is not valid for this listing", code="invalid_cursor") from exc
                raise
            for raw in reply.get("Items", []):
                items.append(from_dynamo(raw))
                if limit and len(items) == limit:
                    return items, encode_cursor(_key_of(raw, index))
            last = reply.get("LastEvaluatedKey")
            if not last:
                return items, None
            if partition and limit and filter_expression and reads == FILTERED_PAGES:
                return items, encode_cursor(last)
            kwargs["ExclusiveStartKey"] = last

    def query_all(self, key_condition: str, values: Item, **kwargs: Any) -> list[Item]:
        items, _ = self.query(key_condition, values, **kwargs)
        return items

    def transact(self, operations: Iterable[dict[str, Any]]) -> None:
        """Write all or nothing. Operations are `{"Put": {...}}` etc. with plain Python values.

        A transaction cancelled only because another one touched the same item at that instant, or a throttle
        (nothing was written), is tried again, up to TRANSACT_ATTEMPTS times with jittered backoff; what is
        still refused raises ConditionFailed with each item's reason, so a caller can tell a failed condition
        ("ConditionalCheckFailed": already done, or changed) from contention that outlasted the retries."""
        prepared = [self._prepare(op) for op in operations]
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=prepared)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                transient = not {"ConditionalCheckFailed", "ValidationError"} & set(reasons) and bool(
                    _TRANSIENT & set(reasons))
                if not transient or attempt + 1 == TRANSACT_ATTEMPTS:
                    raise ConditionFailed(reasons) from exc
                time.sleep(random.uniform(0, 0.025 * 2 ** attempt))

    def get_many(self, keys: Iterable[tuple[str, str]], *,
                 attributes: Sequence[str] | None = None) -> dict[tuple[str, str], Item]:
        """Items by key (eventually consistent), 100 keys a BatchGetItem, GET_MANY_IN_FLIGHT of them at once. Keys
        with no item are absent from the result. With `attributes` (names, or paths such as "ledger.fills"), only
        those come back, with the key: the same read units, a fraction of the parsing."""
        unique = list(dict.fromkeys(keys))
        projection = _projection(["pk", "sk", *attributes]) if attributes else {}

        def fetch(batch: list[tuple[str, str]]) -> list[Item]:
            request = {self.name: {"Keys": [to_dynamo({"pk": pk, "sk": sk}) for pk, sk in batch], **projection}}
            return [from_dynamo(raw) for reply in self._until_processed(self.client.batch_get_item, request,
                                                                        "UnprocessedKeys")
                    for raw in reply.get("Responses", {}).get(self.name, [])]

        batches = [unique[start:start + 100] for start in range(0, len(unique), 100)]
        if len(batches) > 1:
            with ThreadPoolExecutor(min(GET_MANY_IN_FLIGHT, len(batches))) as pool:
                replies = list(pool.map(fetch, batches))
        else:
            replies = [fetch(batch) for batch in batches]
        return {(item["pk"], item["sk"]): item for items in replies for item in items}

    def delete_many(self, keys: list[tuple[str, str]]) -> None:
        """BatchWriteItem deletes, 25 at a time."""
        for start in range(0, len(keys), 25):
            request = {self.name: [{"DeleteRequest": {"Key": to_dynamo({"pk": pk, "sk": sk})}}
                                   for pk, sk in keys[start:start + 25]]}
            for _ in self._until_processed(self.client.batch_write_item, request, "UnprocessedItems"):
                pass

    @staticmethod
    def _until_processed(call: Callable[..., dict], request: dict[str, Any], unprocessed: str) -> Iterator[dict]:
        """`call(RequestItems=request)`'s replies, calling again with what DynamoDB hands back unprocessed (under
        `unprocessed`: it does so when a partition is throttled) after an exponential backoff, as AWS asks of batch
        callers, until nothing is left."""
        for attempt in itertools.count():
            reply = call(RequestItems=request)
            yield reply
            request = reply.get(unprocessed) or {}
            if not request:
                return
            time.sleep(min(1.0, 0.02 * 2 ** attempt))

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


def _projection(paths: Sequence[str]) -> dict[str, Any]:
    """A ProjectionExpression for attribute names or dotted paths, every name through a placeholder (`status` and
    many others are reserved words)."""
    placeholders: dict[str, str] = {}
    expression = []
    for path in dict.fromkeys(paths):
        expression.append(".".join(placeholders.setdefault(part, f"#p{len(placeholders)}") for part in path.split(".")))
    return {"ProjectionExpression": ", ".join(expression),
            "ExpressionAttributeNames": {placeholder: name for name, placeholder in placeholders.items()}}


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
