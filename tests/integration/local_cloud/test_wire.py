"""DynamoDB's item calls read and answered as plain JSON (botfleet_local.wire) give exactly what moto's own shape
walk gives: every call below runs in verify mode, where both paths run and any difference raises WireMismatch,
over items of every AttributeValue type (binary ones take moto's path), with every option the functions use."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from botfleet.adapters.dynamo.schema import create_table_kwargs
from botfleet_local import queries, transactions, wire

names = st.text("abcdefgh", min_size=1, max_size=4)
numbers = st.decimals(min_value=-10**9, max_value=10**9, places=4, allow_nan=False).map(str)
texts = st.text(max_size=12)  # quotes, backslashes, "B": inside strings must not confuse the binary check
binaries = st.binary(min_size=1, max_size=8)
scalars = st.one_of(
    st.builds(lambda v: {"S": v}, texts),
    st.builds(lambda v: {"N": v}, numbers),
    st.builds(lambda v: {"BOOL": v}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda v: {"SS": sorted(v)}, st.sets(texts, min_size=1, max_size=3)),
    st.builds(lambda v: {"NS": sorted(v)}, st.sets(st.integers(-99, 99).map(str), min_size=1, max_size=3)),
)
plain_values = st.recursive(scalars, lambda inner: st.one_of(
    st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
    st.builds(lambda v: {"M": v}, st.dictionaries(names, inner, max_size=3)),
), max_leaves=8)
binary_values = st.one_of(st.builds(lambda v: {"B": v}, binaries),
                          st.builds(lambda v: {"BS": sorted(v)}, st.sets(binaries, min_size=1, max_size=2)))
attributes = st.dictionaries(names, st.one_of(plain_values, binary_values), max_size=4)
SHARDS = ["SHARD#1", "SHARD#2"]


@pytest.fixture(scope="module")
def dynamodb():
    transactions.install()
    queries.install()
    wire.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**create_table_kwargs("wire"))
        yield client


@pytest.fixture(autouse=True)
def verify(monkeypatch):
    monkeypatch.setenv(wire.VERIFY_ENV, "1")


def _key(n):
    return {"pk": {"S": f"P#{n % 2}"}, "sk": {"S": f"S#{n:03d}"}}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(attributes, min_size=1, max_size=6))
def test_every_item_call_answers_as_moto_would(dynamodb, items):
    db, table = dynamodb, "wire"
    for n, attrs in enumerate(items):
        item = {**attrs, **_key(n), "gsi1pk": {"S": SHARDS[n % 2]}, "gsi1sk": {"S": f"{n:03d}"}}
        db.put_item(TableName=table, Item=item, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
        assert db.get_item(TableName=table, Key=_key(n), ConsistentRead=True)["Item"] == item
    db.update_item(TableName=table, Key=_key(0), UpdateExpression="SET #v = if_not_exists(#v, :zero) + :one",
                   ExpressionAttributeNames={"#v": "version"},
                   ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
                   ReturnValues="ALL_NEW", ReturnConsumedCapacity="INDEXES")
    with pytest.raises(ClientError) as failed:  # an error takes moto's own path, old item and all
        db.put_item(TableName=table, Item=_key(0), ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    db.query(TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "P#0"}},
             ScanIndexForward=False, Limit=2, ReturnConsumedCapacity="TOTAL")
    db.query(TableName=table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :s",
             ExpressionAttributeValues={":s": {"S": SHARDS[0]}}, ProjectionExpression="pk, sk, version")
    db.query(TableName=table, KeyConditionExpression="pk = :pk", Select="COUNT",
             ExpressionAttributeValues={":pk": {"S": "P#1"}})
    db.scan(TableName=table, Limit=3)
    keys = [_key(n) for n in range(len(items))]
    db.batch_get_item(RequestItems={table: {"Keys": keys}}, ReturnConsumedCapacity="TOTAL")
    db.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}} for key in keys[:3]])
    db.transact_write_items(TransactItems=[
        {"Update": {"TableName": table, "Key": _key(0), "UpdateExpression": "ADD version :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"ConditionCheck": {"TableName": table, "Key": _key(99), "ConditionExpression": "attribute_not_exists(pk)"}},
    ], ReturnConsumedCapacity="TOTAL")
    db.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": key}} for key in keys]})
    db.delete_item(TableName=table, Key=_key(0), ReturnValues="ALL_OLD")


@given(value=plain_values)
def test_a_request_without_binary_is_taken_as_it_is(value):
    body = json.dumps({"TableName": "t", "Item": {"a": value}})
    assert wire.plain_request("PutItem", body) == json.loads(body)
    assert wire.plain_response("GetItem", {"Item": {"a": value}}) is not None


@given(value=binary_values.map(lambda v: {k: [b.hex() for b in x] if isinstance(x, list) else x.hex()
                                          for k, x in v.items()}))
def test_binary_or_other_operations_take_motos_path(value):
    body = json.dumps({"TableName": "t", "Item": {"a": value}})
    assert wire.plain_request("PutItem", body) is None
    assert wire.plain_response("GetItem", {"Item": {"a": value}}) is None
    assert wire.plain_request("CreateTable", json.dumps({"TableName": "t"})) is None
    assert wire.plain_response("GetItem", {"Item": {"when": b"raw"}}) is None  # bytes: moto knows their wire form
