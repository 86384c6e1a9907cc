"""Data: the single state table and the JWT signing secret, plus the only ways functions get access to them.

Access patterns (all GetItem/Query on a key or index, no hot-path scans) are documented beside the
repositories in layers/core/botfleet/adapters/dynamo/README.md.
"""

from __future__ import annotations

import enum

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from botfleet_infra import nag
from botfleet_infra.functions import BotfleetFunction
from botfleet_infra.settings import TICK_SHARDS, BuildSettings

GSI_NAMES = ("gsi1", "gsi2")
#: The partition of the kept fleet metrics: botfleet.adapters.dynamo.counters.METRICS_PARTITION (a test keeps the two
#: equal; the infrastructure does not import the application).
METRICS_PARTITION = "METRICS"


class TableAccess(enum.Enum):
    """How much of the table a function may touch (least privilege, chosen per function)."""

    #: DescribeTable + GetItem: enough for a health probe, nothing else.
    HEALTH_PROBE = "health_probe"
    #: Read everything (Get/Query/Scan/BatchGet, DescribeTable), change nothing.
    READ_ONLY = "read_only"
    #: Read everything (Get/Query/Scan/BatchGet) and delete items, never create or change one.
    READ_AND_DELETE = "read_and_delete"
    #: Full data-plane read/write (no table administration).
    READ_WRITE = "read_write"
    #: UpdateItem on the fleet's own items (partition `FLEET`: the tick log), nothing else: the tick function.
    TICK_LOG = "tick_log"
    #: Read everything, and PutItem in the partition `METRICS` only (the kept fleet metrics,
    #: adapters/dynamo/counters.py): the ops function, which changes nothing else.
    READ_AND_KEEP_METRICS = "read_and_keep_metrics"


class DataConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings) -> None:
        super().__init__(scope, construct_id)

        self.table = dynamodb.Table(
            self,
            "StateTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # The broadcaster turns item changes into live dashboard events and needs both images to tell
            # what changed (e.g. a bot's status transition).
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=not settings.light,
            removal_policy=settings.stateful_removal_policy,
        )
        for gsi_name in GSI_NAMES:
            self.table.add_global_secondary_index(
                index_name=gsi_name,
                partition_key=dynamodb.Attribute(name=f"{gsi_name}pk", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=f"{gsi_name}sk", type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )

        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSecret",
            description="HMAC key that signs botfleet access tokens (JWT)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=settings.stateful_removal_policy,
        )
        nag.acknowledge(
            self.jwt_secret,
            "SMG4",
            "This is the JWT signing key: rotating it invalidates every issued token and logs every user out. "
            "Rotation is a documented manual operation (infra/README.md); per-user revocation is done with "
            "token versions in the table, not by rotating the key.",
        )

    def connect_table(self, target: BotfleetFunction, access: TableAccess) -> None:
        """Give `target` the table's name (TABLE_NAME) and exactly the access it was designed for."""
        target.add_environment("TABLE_NAME", self.table.table_name)
        if access is TableAccess.HEALTH_PROBE:
            # On the table itself only (Table.grant would add the indexes too).
            target.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:DescribeTable", "dynamodb:GetItem"], resources=[self.table.table_arn]
                )
            )
            return
        if access is TableAccess.TICK_LOG:
            target.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:UpdateItem"],
                    resources=[self.table.table_arn],
                    conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["FLEET"]}},
                )
            )
            return
        if access is TableAccess.READ_ONLY:
            self.table.grant_read_data(target.function)
        elif access is TableAccess.READ_AND_KEEP_METRICS:
            self.table.grant_read_data(target.function)
            target.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:PutItem"],
                    resources=[self.table.table_arn],
                    conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [METRICS_PARTITION]}},
                )
            )
        elif access is TableAccess.READ_AND_DELETE:
            self.table.grant_read_data(target.function)
            # Items live in the table, not in the indexes: DeleteItem on the table ARN only.
            target.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["dynamodb:DeleteItem"], resources=[self.table.table_arn])
            )
        else:
            self.table.grant_read_write_data(target.function)
        # grant_read_data / grant_read_write_data also cover the GSIs as `<table arn>/index/*`.
        nag.acknowledge(
            target.role,
            "IAM5",
            f"Queries on the table's GSIs ({', '.join(GSI_NAMES)}), which are all this wildcard can match.",
            nag.getatt_arn_finding(self.table, "/index/*"),
        )

    def connect_bot_writer(self, target: BotfleetFunction) -> None:
        """`target` writes bots: read/write access, and the one shard count every writer and the tick share
        (TICK_SHARDS). A writer with another count (or none) would put running bots into shards no tick reads;
        the function's settings model refuses to start without it (botfleet.settings)."""
        self.connect_table(target, TableAccess.READ_WRITE)
        target.add_environment("TICK_SHARDS", str(TICK_SHARDS))

    def connect_jwt_secret(self, target: BotfleetFunction) -> None:
        """Give `target` the JWT signing key's ARN (JWT_SECRET_ARN) and read access to it, nothing more."""
        target.add_environment("JWT_SECRET_ARN", self.jwt_secret.secret_arn)
        self.jwt_secret.grant_read(target.function)
