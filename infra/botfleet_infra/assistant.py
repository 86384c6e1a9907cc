"""The AI assistant: the assistant function behind /api/ai/{proxy+}, with exactly what its actions touch.

It reads the caller's bots, trades, portfolio, quarantine and training runs, and writes its own conversation,
memory and proposals; confirmed actions pause, resume or stop bots (so it stops quarantine executions, and writes
bots into the same tick shards as every other writer); it may open a user's `openai` key and no other secret.
It needs no @connections access: its messages reach the dashboard through the table's stream (the broadcaster).
"""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from botfleet_infra.api import ApiConstruct
from botfleet_infra.data import DataConstruct
from botfleet_infra.functions import FunctionFactory, FunctionSpec
from botfleet_infra.settings import BuildSettings


class AssistantConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BuildSettings, functions: FunctionFactory,
                 data: DataConstruct, api: ApiConstruct) -> None:
        super().__init__(scope, construct_id)
        self.assistant = functions.create(
            self,
            "Assistant",
            FunctionSpec(
                name="assistant",
                description="REST /api/ai: the AI assistant (answers from the caller's data; acts after confirmation)",
                # show_admin verifies a password with argon2id, which wants memory (and the CPU that comes with it).
                memory_mb=512,
                # Up to three model rounds of at most 7 s each, inside API Gateway's 29 s integration limit.
                timeout=Duration.seconds(28),
                environment={"ASSISTANT_CONFIRMATION_SECONDS": str(settings.assistant_confirmation_seconds)},
            ),
        )
        data.connect_bot_writer(self.assistant)
        data.connect_jwt_secret(self.assistant)
        api.route_tree(api.api_resource.add_resource("ai"), self.assistant)
