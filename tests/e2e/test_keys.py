"""API keys on the local cloud: sealed with the stack's KMS key, masked on the way out, per user; the test
endpoint reports an unreachable provider as ok:false (this machine has no route to the real exchanges)."""

from __future__ import annotations

SECRET = "s3cr3t-that-must-never-come-back-9f2e"


def test_keys_are_masked_per_user_and_testing_an_unreachable_provider_is_not_an_error(http, new_user):
    owner, other = new_user(), new_user()
    saved = owner.http.put("/api/keys/kucoin", headers=owner.headers,
                           json={"api_key": "kc-key-123456-ABCD", "api_secret": SECRET, "passphrase": "pp-" + SECRET})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["masked_key"].endswith("ABCD") and "kc-key" not in body["masked_key"] and SECRET not in saved.text
    listing = owner.get("/api/keys")
    configured = {row["provider"]: row["configured"] for row in listing.json()["items"]}
    assert configured == {"openai": False, "luno": False, "binance": False, "kucoin": True, "valr": False,
                          "ovex": False}
    assert SECRET not in listing.text
    missing = owner.http.put("/api/keys/kucoin", headers=owner.headers, json={"api_key": "k", "api_secret": "s"})
    assert missing.status_code == 422 and "passphrase" in missing.json()["error"]["message"]
    assert owner.http.put("/api/keys/ftx", headers=owner.headers, json={"api_key": "k"}).status_code == 404
    assert not any(row["configured"] for row in other.get("/api/keys").json()["items"])

    tested = owner.post("/api/keys/test", {"provider": "kucoin"})
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["ok"] is False and result["provider"] == "kucoin" and SECRET not in tested.text
    assert owner.delete("/api/keys/kucoin").status_code == 204
