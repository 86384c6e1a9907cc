"""The local cloud's Query (botfleet_local.queries): an index's partition comes from a map kept up to date by every
write, so after any mix of puts, updates that move an item between partitions, deletes, batch writes and
transactions, a Query of the index returns exactly what a full Scan says is there."""

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from botfleet.adapters.dynamo.schema import create_table_kwargs
from botfleet_local import queries, transactions

KEYS = [f"k{n}" for n in range(6)]
PARTITIONS = ["SHARD#1", "SHARD#2", "SHARD#3"]

writes = st.lists(st.one_of(
    st.tuples(st.just("put"), st.sampled_from(KEYS), st.sampled_from([*PARTITIONS, None])),
    st.tuples(st.just("move"), st.sampled_from(KEYS), st.sampled_from(PARTITIONS)),
    st.tuples(st.just("leave"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("delete"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("batch"), st.sampled_from(KEYS), st.sampled_from(PARTITIONS)),
    st.tuples(st.just("transact"), st.sampled_from(KEYS), st.sampled_from(PARTITIONS)),
), max_size=25)


@pytest.fixture(scope="module")
def client():
    transactions.install()
    queries.install()
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def _key(name):
    return {"pk": {"S": name}, "sk": {"S": "x"}}


def _item(name, partition):
    item = {**_key(name), "n": {"N": "1"}}
    if partition:
        item.update(gsi1pk={"S": partition}, gsi1sk={"S": name})
    return item


def _apply(client, table, op, name, partition):
    if op == "put":
        client.put_item(TableName=table, Item=_item(name, partition))
    elif op == "move":  # an update that creates the item or moves it to another partition of the index
        client.update_item(TableName=table, Key=_key(name), UpdateExpression="SET gsi1pk = :p, gsi1sk = :s",
                           ExpressionAttributeValues={":p": {"S": partition}, ":s": {"S": name}})
    elif op == "leave":
        client.update_item(TableName=table, Key=_key(name), UpdateExpression="REMOVE gsi1pk, gsi1sk")
    elif op == "delete":
        client.delete_item(TableName=table, Key=_key(name))
    elif op == "batch":
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": _item(name, partition)}}]})
    else:
        client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": _item(name, partition)}}])


def _by_query(client, table, partition):
    items = client.query(TableName=table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                         ExpressionAttributeValues={":p": {"S": partition}})["Items"]
    return sorted(item["pk"]["S"] for item in items)


def _by_scan(client, table, partition):
    return sorted(item["pk"]["S"] for item in client.scan(TableName=table)["Items"]
                  if item.get("gsi1pk", {}).get("S") == partition)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=writes, after=writes)
def test_an_index_query_sees_every_write_since_its_map_was_made(client, before, after):
    table = f"t{abs(hash((tuple(before), tuple(after))))}"
    client.create_table(**create_table_kwargs(table))
    try:
        for write in before:
            _apply(client, table, *write)
        for partition in PARTITIONS:  # the first Query of the index makes its map
            assert _by_query(client, table, partition) == _by_scan(client, table, partition)
        for write in after:  # from here on, every write must re-file what it touched
            _apply(client, table, *write)
            for partition in PARTITIONS:
                assert _by_query(client, table, partition) == _by_scan(client, table, partition)
    finally:
        client.delete_table(TableName=table)
