"""The local cloud's TransactWriteItems (botfleet_local.transactions): DynamoDB's semantics — all conditions
first, then every write or none — and no stream record for a cancelled transaction."""

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from botfleet.adapters.dynamo.schema import create_table_kwargs
from botfleet_local import transactions


@pytest.fixture
def dynamodb():
    transactions.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**create_table_kwargs("t"))
        yield client


def _put(pk, condition=None, **attrs):
    body = {"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": "x"}, **attrs}}
    if condition:
        body["ConditionExpression"] = condition
    return {"Put": body}


def _records(client):
    arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def test_all_or_nothing_with_reasons_and_no_phantom_stream_records(dynamodb):
    dynamodb.transact_write_items(TransactItems=[_put("a"), _put("b")])
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[
            _put("c"), _put("a", condition="attribute_not_exists(pk)"),
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "b"}, "sk": {"S": "x"}},
                        "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ])
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "c"}, "sk": {"S": "x"}})
    assert "n" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "b"}, "sk": {"S": "x"}})["Item"]
    assert [r["eventName"] for r in _records(dynamodb)] == ["INSERT", "INSERT"]  # only the first transaction


def test_the_same_item_twice_is_refused(dynamodb):
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=[_put("a"), _put("a")])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
