"""The admin domain: the admin function behind /api/admin/{proxy+}. The role check itself is the RBAC policy
inside every function (botfleet.http.rbac); this construct gives the function what its actions touch."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from botfleet_infra.api import ApiConstruct
from botfleet_infra.data import DataConstruct
from botfleet_infra.functions import FunctionFactory, FunctionSpec
from botfleet_infra.realtime import RealtimeConstruct


class AdminConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, functions: FunctionFactory, data: DataConstruct,
                 api: ApiConstruct, realtime: RealtimeConstruct | None) -> None:
        super().__init__(scope, construct_id)
        self.admin = functions.create(
            self,
            "Admin",
            FunctionSpec(
                name="admin",
                description="REST /api/admin: users, bots, audit trail (admin role only)",
                # Password resets hash with argon2id, which wants memory (and CPU, which scales with it).
                memory_mb=512,
                timeout=Duration.seconds(30),
            ),
        )
        # Users, bots, audit entries (append-only by code), account deletion: read/write.
        data.connect_bot_writer(self.admin)
        data.connect_jwt_secret(self.admin)
        # Block and force-logout close the user's open WebSocket connections (when the stack has them).
        if realtime is not None:
            realtime.grant_connections(self.admin)
        api.route_tree(api.api_resource.add_resource("admin"), self.admin)
