"""Request signing, checked against published vectors and vectors computed from each documented algorithm —
for our own VALR client and for the mock exchanges' verifiers (which must be right for the exchange tier to
mean anything)."""

from __future__ import annotations

import base64

from botfleet.adapters.exchanges.valr import valr_signature
from tests.support.mock_exchanges.binance import binance_signature
from tests.support.mock_exchanges.kucoin import kucoin_sign
from tests.support.mock_exchanges.valr import valr_sign

# VALR's API documentation example (secret, timestamp, verb, path) -> signature.
VALR_SECRET = "4961b74efac86b25cce8fbe4c9811c4c7a787b7a5996660afcc2e287ad864363"
VALR_GET_BALANCES = (
    "9d52c181ed69460b49307b7891f04658e938b21181173844b5018b2fe783a6d4"
    "c62b8e67a03de4d099e7437ebfabe12c56233b73c6a0cc0f7ae87e05f6289928"
)
VALR_POST_MARKET_BODY = '{"customerOrderId":"ORDER-000001","pair":"BTCZAR","side":"BUY","quoteAmount":"80000"}'
VALR_POST_MARKET = (
    "be97d4cd9077a9eea7c4e199ddcfd87408cb638f2ec2f7f74dd44aef70a49fdc"
    "49960fd5de9b8b2845dc4a38b4fc7e56ef08f042a3c78a3af9aed23ca80822e8"
)


def test_valr_signature_matches_the_documented_examples():
    assert valr_signature(VALR_SECRET, "1558014486185", "GET", "/v1/account/balances") == VALR_GET_BALANCES
    assert valr_signature(VALR_SECRET, "1558017528946", "post", "/v1/orders/market",
                          VALR_POST_MARKET_BODY) == VALR_POST_MARKET


def test_valr_mock_verifier_agrees_with_the_client():
    args = ("1558014486185", "GET", "/v1/orders/BTCZAR/customerorderid/abc?x=1", "")
    assert valr_sign(VALR_SECRET, *args) == valr_signature(VALR_SECRET, *args)


def test_valr_signature_covers_every_part():
    base = valr_signature("s", "1", "GET", "/v1/a", "")
    assert len({base, valr_signature("s", "2", "GET", "/v1/a", ""), valr_signature("s", "1", "PUT", "/v1/a", ""),
                valr_signature("s", "1", "GET", "/v1/b", ""), valr_signature("s", "1", "GET", "/v1/a", "{}"),
                valr_signature("t", "1", "GET", "/v1/a", "")}) == 6


def test_binance_verifier_matches_the_documented_example():
    # Binance's "SIGNED endpoint examples" (HMAC-SHA256 of the total params).
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    params = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
              "&timestamp=1499827319559")
    assert binance_signature(secret, params) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_kucoin_verifier_vectors():
    # base64(HMAC-SHA256(secret, timestamp + METHOD + endpoint-with-query + body)); the v2 passphrase likewise.
    assert kucoin_sign("mock-secret", "1700000000000GET/api/v1/accounts?type=trade") == \
        "k1mLhIw6QpL+kycmt7JjP1Ty3+6iOSdIYo+WpB2Jj/E="
    body = '{"clientOid":"c1","side":"buy","symbol":"BTC-USDT","type":"market","size":"0.001"}'
    assert kucoin_sign("mock-secret", "1700000000000POST/api/v1/orders" + body) == \
        "xiP0hP8noRceGHxzeIt3p8iHp3tFzvyoDwCoIR7KarE="
    assert kucoin_sign("mock-secret", "mock-pass") == "22QXU2rdAD0ZUFje9nCuklTi3C2in2SGz0V2p7no9Pg="
    assert len(base64.b64decode(kucoin_sign("k", "x"))) == 32


def test_ccxt_signs_kucoin_and_binance_as_the_mocks_verify():
    """ccxt's own signing, checked against our verifiers without a network: sign() gives url, headers, body."""
    import ccxt

    kucoin = ccxt.kucoin({"apiKey": "key", "secret": "mock-secret", "password": "mock-pass"})
    signed = kucoin.sign("accounts", ["private", "GET"], "GET", {"type": "trade"})
    headers = signed["headers"]
    endpoint = signed["url"].split("kucoin.com", 1)[1]
    assert headers["KC-API-SIGN"] == kucoin_sign("mock-secret", headers["KC-API-TIMESTAMP"] + "GET" + endpoint)
    assert headers["KC-API-PASSPHRASE"] == kucoin_sign("mock-secret", "mock-pass")
    assert headers["KC-API-KEY-VERSION"] == "2"

    binance = ccxt.binance({"apiKey": "key", "secret": "mock-secret"})
    signed = binance.sign("account", ["private"], "GET", {})
    query, signature = signed["url"].split("?", 1)[1].rsplit("&signature=", 1)
    assert signature == binance_signature(binance.secret, query)
