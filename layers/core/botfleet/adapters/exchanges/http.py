"""The small JSON-over-HTTP transport the own clients (VALR, OVEX) share: one httpx.Client with the timeout,
transport failures and HTTP statuses mapped to the domain's ExchangeError kinds in one place (errors.py).

The request body is serialized here, once, so what a venue's signature covers is byte for byte what is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botfleet.adapters.exchanges.errors import from_http
from botfleet.domain.orders import ExchangeUnavailable

Signer = Callable[[str, str, str], dict[str, str]]  # (VERB, path with query, body) -> auth headers


class JsonHttp:
    def __init__(self, exchange_id: str, base_url: str, timeout_s: float,
                 error_message: Callable[[Any], str] = lambda payload: str(payload)):
        import httpx  # only clients that talk to the network pay for it

        self.exchange_id = exchange_id
        self._httpx = httpx
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._error_message = error_message

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None,
                signer: Signer | None = None, allow: tuple[int, ...] = ()) -> tuple[int, Any]:
        """(status, decoded JSON). 2xx and the statuses in `allow` return; everything else raises."""
        target = path
        if query:
            target += "?" + str(self._httpx.QueryParams({k: v for k, v in query.items() if v is not None}))
        content = "" if body is None else json.dumps(body, separators=(",", ":"))
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if signer is not None:
            headers.update(signer(method.upper(), target, content))
        try:
            response = self._client.request(method.upper(), target, content=content or None, headers=headers)
        except self._httpx.TimeoutException as exc:
            raise ExchangeUnavailable(self.exchange_id, f"timed out: {method} {path}") from exc
        except self._httpx.TransportError as exc:
            raise ExchangeUnavailable(self.exchange_id, f"{type(exc).__name__}: {method} {path}") from exc
        payload = _decode(response)
        if response.is_success or response.status_code in allow:
            return response.status_code, payload
        raise from_http(self.exchange_id, response.status_code, self._error_message(payload))


def _decode(response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
