"""Provisioning: the operator-only function (ensure_admin, seed_demo, market_move).

It has no trigger at all: only principals allowed lambda:InvokeFunction on it (operators, the local cloud at
start-up) can run it, which is why its name is a stack output.
"""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from botfleet_infra.data import DataConstruct
from botfleet_infra.functions import FunctionFactory, FunctionSpec
from botfleet_infra.settings import BuildSettings


class ProvisioningConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BuildSettings,
        functions: FunctionFactory,
        data: DataConstruct,
    ) -> None:
        super().__init__(scope, construct_id)

        self.provision = functions.create(
            self,
            "Provision",
            FunctionSpec(
                name="provision",
                description="Operator actions: ensure_admin, seed_demo, market_move (direct invoke only)",
                memory_mb=512,
                # seed_demo writes a whole demo fleet with its history.
                timeout=Duration.minutes(2),
            ),
        )
        # Creates users, bots and market state: read/write.
        data.connect_bot_writer(self.provision)
        # Hashes the admin's password and may issue tokens for the demo user.
        data.connect_jwt_secret(self.provision)
