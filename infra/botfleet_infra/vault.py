"""The API-key vault: a KMS key for envelope encryption and the keys function behind /api/keys.

Only the functions that must see plaintext secrets may use the key: `keys` (seal on save, open to test) and
`engine` (live orders). Both are limited to requests whose encryption context names exactly a user and a
provider, which binds every sealed secret to its owner; nobody gets kms:* or key administration."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from botfleet_infra.api import ApiConstruct
from botfleet_infra.data import DataConstruct, TableAccess
from botfleet_infra.functions import BotfleetFunction, FunctionFactory, FunctionSpec
from botfleet_infra.settings import BuildSettings

KEY_ENV = "KEYS_KMS_KEY_ID"


class VaultConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings, functions: FunctionFactory,
                 data: DataConstruct, api: ApiConstruct) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "ApiKeysKey",
            description="botfleet: envelope encryption of users' exchange and LLM API keys",
            enable_key_rotation=True,
            removal_policy=settings.stateful_removal_policy,
        )
        self.keys = functions.create(
            self,
            "Keys",
            FunctionSpec(
                name="keys",
                description="REST /api/keys: store (sealed), mask, delete and test users' API keys",
                memory_mb=512,
                # A provider test waits at most ~5 s for the provider; leave room for KMS and DynamoDB.
                timeout=Duration.seconds(20),
            ),
        )
        data.connect_table(self.keys, TableAccess.READ_WRITE)
        data.connect_jwt_secret(self.keys)
        self.allow_secrets(self.keys, seal=True)
        keys_resource = api.api_resource.add_resource("keys")
        api.route(keys_resource, self.keys)
        api.route_tree(keys_resource, self.keys)

    def allow_secrets(self, target: BotfleetFunction, *, seal: bool, providers: list[str] | None = None) -> None:
        """`target` may open sealed secrets (and seal new ones when `seal`), per user and provider only;
        with `providers`, only those providers' secrets."""
        target.add_environment(KEY_ENV, self.key.key_arn)
        actions = ["kms:Decrypt"] + (["kms:GenerateDataKey"] if seal else [])
        conditions: dict = {
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["user_id", "provider"]},
            "Null": {"kms:EncryptionContext:user_id": "false", "kms:EncryptionContext:provider": "false"},
        }
        if providers:
            conditions["StringEquals"] = {"kms:EncryptionContext:provider": providers}
        target.role.add_to_principal_policy(iam.PolicyStatement(
            actions=actions, resources=[self.key.key_arn], conditions=conditions))

    def know_configured_keys(self, target: BotfleetFunction) -> None:
        """`target` may see whether a user has stored a key (a table read), never open one: no KMS access."""
        target.add_environment(KEY_ENV, self.key.key_arn)
