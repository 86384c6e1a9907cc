"""Market data behind one port (`MarketData.view` / `.mark`): the built-in simulator, live exchange data, or a
replay of historical candles. `make_market_data` picks one by name; see docs/exchanges.md for how to choose."""

from __future__ import annotations

from botfleet.adapters.market_data.base import MarketData, MarketView

KINDS = ("simulator", "live", "replay")
_LIVE_OPTIONS = ("base_urls", "credentials", "timeout_s", "depth")
_REPLAY_OPTIONS = ("sources", "csv_dir", "seed")

__all__ = ["KINDS", "MarketData", "MarketView", "make_market_data"]


def make_market_data(kind: str, **options) -> MarketData:
    """`simulator`: returns the ready object passed as `simulator=`.
    `live`: LiveMarketData(base_urls=, credentials=, timeout_s=, depth=).
    `replay`: ReplayMarketData(sources= and/or csv_dir=, seed=).
    Options meant for another kind are ignored, so a caller can pass one option set whatever the kind."""
    if kind == "simulator":
        simulator = options.get("simulator")
        if simulator is None:
            raise ValueError("make_market_data('simulator') needs simulator=<a MarketData object>")
        return simulator
    if kind == "live":
        from botfleet.adapters.market_data.live import LiveMarketData

        return LiveMarketData(**_pick(options, _LIVE_OPTIONS))
    if kind == "replay":
        from botfleet.adapters.market_data.replay import ReplayMarketData

        picked = _pick(options, _REPLAY_OPTIONS)
        if not picked.get("sources") and not picked.get("csv_dir"):
            raise ValueError("make_market_data('replay') needs csv_dir= (REPLAY_CSV_DIR) or sources=")
        return ReplayMarketData(**picked)
    raise ValueError(f"unknown market data kind {kind!r} (one of: {', '.join(KINDS)})")


def _pick(options: dict, names: tuple[str, ...]) -> dict:
    return {name: options[name] for name in names if options.get(name) is not None}
