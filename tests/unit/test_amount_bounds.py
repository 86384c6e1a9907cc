"""Every amount a client sends is read strictly (plain ASCII decimals) and bounded per field; what passes is always
something the table stores and reads back exactly."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.dynamo.table import UnstorableNumber, from_dynamo, to_dynamo
from botfleet.domain.money import BASIS_POINTS, CAPITAL, INJECTION, MOVE_PCT, PERCENT, AmountBounds, parse_amount
from botfleet.domain.text import clean_text
from botfleet.errors import Unprocessable

FIELDS = {"capital": CAPITAL, "amount": INJECTION, "risk.max_drawdown_pct": PERCENT,
          "limit_offset_bps": BASIS_POINTS, "move_pct": MOVE_PCT}


@pytest.mark.parametrize("field,bounds", FIELDS.items())
@pytest.mark.parametrize("value", ["1E+125", "1e1000000", "1e-200", "1e309", "1e999999999", "1_000", "١٢٣", "NaN",
                                   "-Infinity", "0x10", " 1", "1 ", "+1", "1.", ".5", "", "1" * 65, 1.5, True, None])
def test_malformed_or_unbounded_amounts_are_refused_naming_the_field(field, bounds, value):
    with pytest.raises(Unprocessable, match=rf"^{re.escape(field)}: "):
        parse_amount(value, field, bounds)


def test_bounds_and_places():
    assert parse_amount("1000000000000", "capital", CAPITAL) == D("1000000000000")
    assert parse_amount("0.00000001", "capital", CAPITAL) == D("0.00000001")
    assert parse_amount(5000, "capital", CAPITAL) == D(5000)
    assert parse_amount("0", "limit_offset_bps", BASIS_POINTS) == 0  # an inclusive minimum
    assert parse_amount("-25", "move_pct", MOVE_PCT) == D(-25)
    for too_much in ("1000000000000.00000001", "0", "-1", "0.000000001"):
        with pytest.raises(Unprocessable):
            parse_amount(too_much, "capital", CAPITAL)
    with pytest.raises(Unprocessable, match=r"at most 8 decimal places"):
        parse_amount("1.123456789", "capital", CAPITAL)
    assert parse_amount("1.10000000", "capital", CAPITAL) == D("1.1")
    # Written as the schema's pattern does not allow, even when the value itself is in range: refused alike.
    with pytest.raises(Unprocessable, match=r"at most 8 decimal places"):
        parse_amount("1.100000000", "capital", CAPITAL)
    with pytest.raises(Unprocessable, match=r"no leading zeros"):
        parse_amount("0001", "risk.max_drawdown_pct", PERCENT)
    assert parse_amount("001", "risk.max_drawdown_pct", PERCENT) == 1  # three digits, as "100" has


@given(st.sampled_from(list(FIELDS.values())), st.text(alphabet="0123456789.-", max_size=24))
def test_the_schema_pattern_and_the_parser_agree_and_what_passes_is_storable(bounds: AmountBounds, text):
    try:
        value = parse_amount(text, "x", bounds)
    except Unprocessable:
        return
    assert re.fullmatch(bounds.pattern, text) and len(text) <= bounds.max_length
    assert from_dynamo(to_dynamo({"v": value}))["v"] == value


@pytest.mark.parametrize("number", ["1e-200", "1e130", "1234567890123456789012345678901234567890", "NaN"])
def test_the_table_refuses_to_write_what_it_could_not_read_back(number):
    with pytest.raises(UnstorableNumber):
        to_dynamo({"v": D(number)})


def test_numbers_beyond_boto3s_context_are_read_back_exactly():
    assert from_dynamo({"v": {"N": "1" + "0" * 125}})["v"] == D("1e125")


@pytest.mark.parametrize("name", ["a\x00b", "a\tb", "\u202eevil", "zero\u200bwidth", "a\x7f", "\ud800"])
def test_names_with_control_or_invisible_characters_are_refused(name):
    with pytest.raises(Unprocessable, match=r"^name: "):
        clean_text(name, "name", max_length=64)
    assert clean_text("  Zoë's bot 🚀 ", "name", max_length=64) == "Zoë's bot 🚀"
