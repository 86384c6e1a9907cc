"""The state table and the JWT secret match docs/internals.md."""

from aws_cdk.assertions import Match


def test_table_keys_billing_stream_ttl_pitr(light):
    light.template.resource_count_is("AWS::DynamoDB::Table", 1)
    light.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    )


def test_table_attribute_types_are_strings(light):
    (table,) = light.resources_of_type("AWS::DynamoDB::Table").values()
    definitions = {a["AttributeName"]: a["AttributeType"] for a in table["Properties"]["AttributeDefinitions"]}
    assert definitions == {name: "S" for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")}


def test_table_gsis_project_all(light):
    (table,) = light.resources_of_type("AWS::DynamoDB::Table").values()
    gsis = {g["IndexName"]: g for g in table["Properties"]["GlobalSecondaryIndexes"]}
    assert set(gsis) == {"gsi1", "gsi2"}
    for name, gsi in gsis.items():
        assert gsi["KeySchema"] == [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ]
        assert gsi["Projection"] == {"ProjectionType": "ALL"}


def test_light_table_is_disposable(light):
    light.template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"})


def test_jwt_secret_is_generated_64_chars_without_punctuation(light):
    light.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"PasswordLength": 64, "ExcludePunctuation": True})},
    )
