from datetime import UTC, datetime, timedelta

import pytest

from botfleet.domain.quarantine import QuarantineConfig, countdown
from botfleet.errors import Unprocessable


def test_the_default_ladder_is_1h_3h_24h_then_regenerate():
    config = QuarantineConfig()
    assert [config.wait_seconds(n) for n in (1, 2, 3)] == [3600, 10800, 86400]
    assert not config.regenerates(3) and config.regenerates(4)


def test_a_failed_validation_climbs_a_rung_and_stays_at_the_top():
    config = QuarantineConfig()
    assert config.wait_seconds(1, extension=1) == 10800
    assert config.wait_seconds(3, extension=2) == 86400


@pytest.mark.parametrize(("raw", "field"), [
    ({"durations_seconds": [60, 30], "max_pauses": 4}, "durations_seconds"),
    ({"durations_seconds": [0, 30], "max_pauses": 4}, "durations_seconds.0"),
    ({"durations_seconds": [], "max_pauses": 4}, "durations_seconds"),
    ({"durations_seconds": [60, 60], "max_pauses": 4}, "durations_seconds"),
    ({"durations_seconds": [60], "max_pauses": 0}, "max_pauses"),
    ({"durations_seconds": [60.5], "max_pauses": 2}, "durations_seconds.0"),
])
def test_config_is_validated_naming_the_field(raw, field):
    with pytest.raises(Unprocessable) as error:
        QuarantineConfig.parse(raw)
    assert error.value.field == field


def test_countdown_runs_in_ladder_seconds_at_the_emulators_time_scale():
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    # a 1 h rung at time scale 600 lasts 6 real seconds; 3 real seconds in, half of it is left
    clock = countdown(start, 3600, 600, start + timedelta(seconds=3))
    assert clock["seconds_remaining"] == 1800.0 and clock["progress"] == 0.5
    assert clock["release_at"] == start + timedelta(seconds=6)
    assert countdown(start, 3600, 1, start + timedelta(hours=2))["seconds_remaining"] == 0
