"""The table's stream, decoded: each record becomes a TableChange of plain items (and, for a bot, the Bot)."""

from __future__ import annotations

from typing import Any

from botfleet.adapters.dynamo.bots import load_bot
from botfleet.adapters.dynamo.table import from_dynamo
from botfleet.domain.bots import UnreadableBot
from botfleet.ports import TableChange


def table_changes(records: list[dict[str, Any]]) -> list[TableChange]:
    changes = []
    for record in records:
        images = record.get("dynamodb", {})
        new = from_dynamo(images["NewImage"]) if "NewImage" in images else None
        old = from_dynamo(images["OldImage"]) if "OldImage" in images else None
        current = new or old
        if not current:
            continue
        bot = None
        if current.get("entity") == "bot":
            bot = load_bot(current)
            if isinstance(bot, UnreadableBot):  # nothing to show for a bot whose state cannot be read
                continue
        changes.append(TableChange(record.get("eventName", ""), new, old, bot))
    return changes
