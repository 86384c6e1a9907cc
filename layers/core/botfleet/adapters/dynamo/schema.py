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


# --- key builders: every partition and sort key the adapters write, so no other module spells them -------------

def user_pk(user_id: str) -> str:
    """A user's own partition: profile, bots, keys, injections, training runs, quarantine log, assistant."""
    return f"USER#{user_id}"


def bot_pk(bot_id: str) -> str:
    """A bot's own partition: pointer, trades, events, trained models, training lock."""
    return f"BOT#{bot_id}"


def user_trades_pk(user_id: str) -> str:
    return f"USER#{user_id}#TRADES"


def bot_training_pk(bot_id: str) -> str:
    return f"BOT#{bot_id}#TRAINING"


def bot_injections_pk(bot_id: str) -> str:
    return f"BOT#{bot_id}#INJECTIONS"


def shard_pk(shard: int) -> str:
    return f"SHARD#{shard}"


def user_connections_pk(user_id: str) -> str:
    return f"USER#{user_id}#CONNS"
