"""Table.transact: a transaction cancelled only by contention (another transaction on the same item, a throttle)
wrote nothing and is sent again; a failed condition is reported at once, with each item's reason, so the tick can
tell "already done" from contention that outlasted the retries (which used to count as done: a live fill lost)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from botfleet.adapters.dynamo.table import TRANSACT_ATTEMPTS, ConditionFailed, Table


class CancellingClient:
    """transact_write_items answers with the queued cancellations (one list of reasons each), then succeeds."""

    def __init__(self, *cancellations: list[str]):
        self.cancellations = list(cancellations)
        self.calls = 0

    def transact_write_items(self, TransactItems):  # boto3 names its parameter so
        self.calls += 1
        if self.cancellations:
            reasons = self.cancellations.pop(0)
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                               "CancellationReasons": [{"Code": code} for code in reasons]}, "TransactWriteItems")
        return {}


PUT = [{"Put": {"Item": {"pk": "P", "sk": "S"}}}, {"Put": {"Item": {"pk": "P", "sk": "T"}}}]


def test_contention_is_retried_until_the_transaction_goes_through():
    client = CancellingClient(["None", "TransactionConflict"], ["ThrottlingError", "None"])
    Table("t", client).transact(PUT)
    assert client.calls == 3


def test_a_failed_condition_is_reported_at_once_with_its_reasons():
    client = CancellingClient(["ConditionalCheckFailed", "TransactionConflict"])
    with pytest.raises(ConditionFailed) as failed:
        Table("t", client).transact(PUT)
    assert client.calls == 1 and failed.value.reasons == ["ConditionalCheckFailed", "TransactionConflict"]


def test_contention_that_outlasts_the_retries_is_not_a_failed_condition():
    client = CancellingClient(*[["TransactionConflict", "None"]] * TRANSACT_ATTEMPTS)
    with pytest.raises(ConditionFailed) as failed:
        Table("t", client).transact(PUT)
    assert client.calls == TRANSACT_ATTEMPTS and "ConditionalCheckFailed" not in failed.value.reasons
