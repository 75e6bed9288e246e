"""The MT5 Web API wire rules: the official authentication test vectors, query escaping, scalars, and the
retcode → error table, each retcode sent by the simulator over real HTTP."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tenant_apps.trading.adapters.base import (
    AuthFailed,
    NotFound,
    NotPermitted,
    Rejected,
    ServerNotAuthentic,
    Unavailable,
)
from tenant_apps.trading.adapters.mt5 import protocol as proto
from tests.trading.conftest import open_account

# Official vectors (PROTOCOLS.md §1).
PASSWORD = "Password1"
PH = "904ba8ecb16273d2f0ae9c3b8a023752"
SRV_RAND, SRV_RAND_ANSWER = "73007dc7184747ce0f7c98516ef1c851", "77fe51827f7fa69dd80fbec9aa33f1bb"
CLI_RAND, CLI_RAND_ANSWER = "4db98fec17aab4dc5a240bdc659e8395", "1732021b1b332f51660b2b315eed3a35"


def test_password_hash_matches_the_official_vector():
    assert proto.password_hash(PASSWORD).hex() == PH


def test_srv_rand_answer_matches_the_official_vector():
    assert proto.srv_rand_answer(bytes.fromhex(PH), SRV_RAND) == SRV_RAND_ANSWER


def test_cli_rand_answer_matches_the_official_vector():
    assert proto.cli_rand_answer(bytes.fromhex(PH), bytes.fromhex(CLI_RAND)) == CLI_RAND_ANSWER


@pytest.mark.parametrize(("value", "sent"), [
    ("demo\\forex", "demo\\\\forex"),
    ("a=b", "a\\=b"),
    ("a|b", "a\\|b"),
    ("line\nbreak", "line\\%0Abreak"),
    ("two words", "two%20words"),
    ("a&b+c#d%e", "a%26b%2Bc%23d%25e"),
    ("real\\*,!demo*", "real\\\\*,!demo*"),
    (123, "123"),
])
def test_query_values_are_escaped_as_the_web_api_requires(value, sent):
    assert proto.escape_query_value(value) == sent


@pytest.mark.parametrize(("raw", "parsed"), [
    ({"retcode": "0 Done"}, (0, "Done")),
    ({"retcode": "10019 No money"}, (10019, "No money")),
    ({"retcode": 13}, (13, "")),
])
def test_retcodes_are_read_from_their_leading_integer(raw, parsed):
    assert proto.parse_retcode(raw) == parsed


@pytest.mark.parametrize("raw", [{}, {"retcode": "Done"}, "<html>", None])
def test_a_response_without_a_retcode_is_malformed_and_retryable(raw):
    with pytest.raises(Unavailable):
        proto.parse_retcode(raw)


def test_scalars_sent_as_strings_or_numbers_become_decimals_and_ints():
    assert proto.to_decimal("26000.00") == Decimal("26000.00")
    assert proto.to_decimal(0.1) == Decimal("0.1")
    assert proto.to_int("764636") == 764636
    assert proto.to_int("2.0") == 2
    assert proto.volume_to_lots("10000") == Decimal(1)
    assert proto.volume_to_lots("100") == Decimal("0.01")
    with pytest.raises(Unavailable):
        proto.to_decimal("NaN")


RETCODE_TABLE = [
    (2, Rejected), (3, Rejected), (4, Rejected), (5, Unavailable), (6, Unavailable), (7, Unavailable),
    (8, NotPermitted), (9, Unavailable), (10, Unavailable), (11, Unavailable), (12, Unavailable), (13, NotFound),
    (14, Rejected), (15, Unavailable), (16, Rejected), (17, Rejected), (1001, AuthFailed), (1002, AuthFailed),
    (1005, AuthFailed), (1008, ServerNotAuthentic), (1012, AuthFailed), (3002, Rejected), (3004, Rejected),
    (3006, Rejected), (4005, Rejected), (10017, Rejected), (10019, Rejected), (12001, Rejected), (99999, Rejected),
]


def test_the_retcode_table_covers_every_retcode_protocols_lists():
    listed = {0, 1, 2, 3, 4, 7, 8, 9, 10, 12, 13, 14, 17, 1001, 1002, 1008, 1012, 3004, 3006, 4005, 10017, 10019, 12001}
    tested = {code for code, _ in RETCODE_TABLE} | proto.OK_RETCODES
    assert listed <= tested


@pytest.mark.parametrize(("retcode", "error"), RETCODE_TABLE)
def test_each_retcode_from_the_server_raises_its_typed_error(retcode, error, adapter, control):
    account = open_account(adapter)
    # count=3: authentication retcodes make the adapter log in again and retry once first.
    control({"mode": "reject", "retcode": retcode, "count": 3, "paths": ["/api/user/get"]})
    with pytest.raises(error) as raised:
        adapter.get_account(account.login)
    assert type(raised.value) is error
    assert raised.value.retcode == retcode
    assert raised.value.retryable is (error is Unavailable)
