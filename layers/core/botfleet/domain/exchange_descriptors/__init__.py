"""One module per exchange, each defining `DESCRIPTOR` (an `ExchangeDescriptor`): its rules and their source,
fees and their source, the credential fields of its API keys, its live client, and its demo bot.

Every module in this package is an exchange: they are found by listing the package, not named in a list, so
adding an exchange is adding its module (the module name is the exchange id; modules starting with `_` are
helpers). `DESCRIPTORS` is ordered by each descriptor's `listing_order`, the order every exchange list of the
API shows. Anything inconsistent fails here, at import, rather than later on a live key.

The client is named by import path (`ClientFactory`), not imported: this package is domain, it must not import
adapters, and the catalogue is read by every Lambda while only the engine and the key test build clients. A
path rather than a kind the adapters map means the adapter layer has no per-exchange table to extend.
"""

from __future__ import annotations

import importlib
import pkgutil

from botfleet.domain.exchange_model import ExchangeDescriptor


def _load() -> tuple[ExchangeDescriptor, ...]:
    descriptors = []
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        descriptor = getattr(module, "DESCRIPTOR", None)
        if not isinstance(descriptor, ExchangeDescriptor):
            raise TypeError(f"{module.__name__} must define DESCRIPTOR = ExchangeDescriptor(...)")
        if descriptor.id != module_info.name:
            raise ValueError(f"{module.__name__} describes {descriptor.id!r}: the module must be named after it")
        descriptors.append(descriptor)
    orders = [descriptor.listing_order for descriptor in descriptors]
    if len(set(orders)) != len(orders):
        raise ValueError(f"two exchanges share a listing_order: {sorted(orders)}")
    return tuple(sorted(descriptors, key=lambda descriptor: descriptor.listing_order))


DESCRIPTORS: tuple[ExchangeDescriptor, ...] = _load()
