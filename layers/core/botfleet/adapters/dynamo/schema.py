"""The state table's key schema, in one place: the CDK data construct and the tests both build from it."""

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
GLOBAL_INDEXES = {"gsi1": ("gsi1pk", "gsi1sk"), "gsi2": ("gsi2pk", "gsi2sk")}


def create_table_kwargs(name: str) -> dict:
    """`dynamodb.create_table` arguments matching the CDK table (for tests and tools)."""
    attributes = [PARTITION_KEY, SORT_KEY, *[key for keys in GLOBAL_INDEXES.values() for key in keys]]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
                      {"AttributeName": SORT_KEY, "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "GlobalSecondaryIndexes": [
            {"IndexName": index, "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"},
                                               {"AttributeName": sk, "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}}
            for index, (pk, sk) in GLOBAL_INDEXES.items()
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
