"""Asynchronous Lambda invocation: the tick's fan-out to the engine, one event per engine run (a group of shards)."""

from __future__ import annotations

import json
from collections.abc import Sequence


class LambdaEngineInvoker:
    def __init__(self, function_name: str):
        from botfleet.adapters.aws import client

        self._client = client("lambda")
        self.function_name = function_name

    def run_shards_async(self, tick_id: str, shards: Sequence[int]) -> None:
        self._client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps({"tick_id": tick_id, "shards": list(shards)}).encode(),
        )
