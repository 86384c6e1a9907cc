"""The Botfleet stack: one construct per domain, wired together, and the contract's outputs."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from botfleet_infra.admin import AdminConstruct
from botfleet_infra.api import ApiConstruct
from botfleet_infra.assistant import AssistantConstruct
from botfleet_infra.catalogue import ENGINE_SECRET_PROVIDERS
from botfleet_infra.data import DataConstruct
from botfleet_infra.functions import FunctionFactory
from botfleet_infra.monitoring import MonitoringConstruct
from botfleet_infra.provisioning import ProvisioningConstruct
from botfleet_infra.quarantine import QuarantineConstruct
from botfleet_infra.realtime import RealtimeConstruct
from botfleet_infra.settings import BuildSettings
from botfleet_infra.trading import TradingConstruct
from botfleet_infra.training import TrainingConstruct
from botfleet_infra.vault import VaultConstruct
from botfleet_infra.web import WebConstruct

STACK_NAME = "Botfleet"


class BotfleetStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings

        functions = FunctionFactory(self, settings=settings)
        self.data = DataConstruct(self, "Data", settings=settings)
        # Without a WebSocket API (botfleet:websocket=false) there is nothing live to send: no ws, no broadcaster.
        self.realtime = (RealtimeConstruct(self, "Realtime", settings=settings, functions=functions, data=self.data)
                         if settings.websocket else None)
        self.trading = TradingConstruct(self, "Trading", settings=settings, functions=functions, data=self.data)
        self.api = ApiConstruct(
            self,
            "Api",
            settings=settings,
            functions=functions,
            data=self.data,
            websocket_url=self.realtime.url if self.realtime else "",
        )
        if self.realtime:
            # Logout closes the caller's open WebSocket connections, as admin block / force logout do.
            self.realtime.grant_connections(self.api.auth)
            # WebSocket stage logging also needs the account's API Gateway CloudWatch role, which the REST API
            # creates: without this ordering a first deployment into a fresh account can fail.
            self.realtime.stage.node.add_dependency(self.api.cloud_watch_account)
        self.admin = AdminConstruct(self, "Admin", functions=functions, data=self.data, api=self.api,
                                    realtime=self.realtime)
        self.training = TrainingConstruct(self, "Training", settings=settings, functions=functions, data=self.data,
                                          api=self.api)
        self.quarantine = QuarantineConstruct(self, "Quarantine", settings=settings, functions=functions,
                                              data=self.data, api=self.api)
        self.quarantine.allow_start(self.trading.engine)
        for resumer in (self.api.bots, self.admin.admin):
            self.quarantine.allow_stop(resumer)
        self.vault = VaultConstruct(self, "Vault", settings=settings, functions=functions, data=self.data,
                                    api=self.api)
        # Live orders are signed with the owner's keys: the engine opens them (per user and provider only).
        self.vault.allow_secrets(self.trading.engine, seal=False, providers=list(ENGINE_SECRET_PROVIDERS))
        # Creating a live bot or switching one to live needs to know a key exists, not what it is.
        self.vault.know_configured_keys(self.api.bots)
        self.vault.know_configured_keys(self.admin.admin)
        # The assistant answers with the caller's openai key (and no other secret); its confirmed actions resume or
        # stop quarantined bots, which stops their quarantine executions.
        self.assistant = AssistantConstruct(self, "Assistant", settings=settings, functions=functions,
                                            data=self.data, api=self.api)
        self.vault.allow_secrets(self.assistant.assistant, seal=False, providers=["openai"])
        self.quarantine.allow_stop(self.assistant.assistant)
        self.provisioning = ProvisioningConstruct(
            self, "Provisioning", settings=settings, functions=functions, data=self.data
        )
        # What an operator must hear about (stopped ticks, failed runs and executions, throttles, lagging updates).
        self.monitoring = MonitoringConstruct(
            self, "Monitoring", settings=settings, tick=self.trading.tick, engine=self.trading.engine,
            broadcaster=self.realtime.broadcaster if self.realtime else None, data=self.data,
            state_machines={"Training": self.training.state_machine, "Quarantine": self.quarantine.state_machine})
        # The dashboard, on one origin with the REST API (/api/*). Left out with botfleet:web=false (the emulators:
        # no CloudFront there).
        self.web = (WebConstruct(self, "Web", settings=settings, api=self.api,
                                 websocket_origin=self.realtime.api.api_endpoint if self.realtime else None)
                    if settings.web else None)
        if self.web:
            # The functions whose limits key on the caller's address: sign-up, sign-in and password confirmations.
            for limited in (self.api.auth, self.assistant.assistant):
                self.web.trust_viewer_address(limited)

        # Output names are part of the contract (docs/internals.md).
        CfnOutput(self, "RestApiUrl", value=self.api.url, description="REST API base URL (append api/...)")
        if self.realtime:
            CfnOutput(self, "WebSocketUrl", value=self.realtime.url, description="WebSocket URL for the dashboard")
        if self.web:
            CfnOutput(self, "DashboardUrl", value=self.web.url, description="The dashboard (CloudFront)")
        CfnOutput(self, "TableName", value=self.data.table.table_name, description="State table")
        CfnOutput(
            self,
            "ProvisionFunctionName",
            value=self.provisioning.provision.function.function_name,
            description="Invoke for ensure_admin / seed_demo / market_move",
        )
        CfnOutput(self, "TickFunctionName", value=self.trading.tick.function.function_name,
                  description="The tick function (the smoke check's --tick invoke --tick-function)")
