"""What the infrastructure takes from the core: its exchange descriptors, so no list of exchanges is kept here, the
headers the CloudFront distribution adds for the API (botfleet.origin), and how long a quarantine can last.

The trading engine may open only exchange keys: its KMS condition names exactly the exchange providers
(`botfleet.domain.providers.EXCHANGE_PROVIDERS`, one per exchange descriptor). `botfleet.domain` is pure
stdlib Python, so importing it adds nothing to a synth. `python infra/app.py` must also work before the repo is
pip-installed (infra/app.py), so the core layer's source goes on sys.path when `botfleet` isn't importable.
"""

from __future__ import annotations

import importlib.util
import sys

from botfleet_infra.settings import REPO_ROOT

if importlib.util.find_spec("botfleet") is None:
    sys.path.append(str(REPO_ROOT / "layers" / "core"))

from botfleet.domain.providers import EXCHANGE_PROVIDERS  # after the sys.path fallback above
from botfleet.domain.quarantine import LONGEST_QUARANTINE_SECONDS  # noqa: F401  (re-exported)
from botfleet.origin import ORIGIN_PROOF_ENV, ORIGIN_PROOF_HEADER, VIEWER_ADDRESS_HEADER  # noqa: F401  (re-exported)

#: The providers whose secrets live trading opens, in the exchanges' listing order.
ENGINE_SECRET_PROVIDERS: tuple[str, ...] = EXCHANGE_PROVIDERS
