"""Cold starts: importing the exchange and market-data packages must not import ccxt (~0.5 s) or httpx."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, time
started = time.perf_counter()
import botfleet.adapters.exchanges, botfleet.adapters.market_data
elapsed = time.perf_counter() - started
assert 'ccxt' not in sys.modules, 'ccxt imported at package import'
assert 'httpx' not in sys.modules, 'httpx imported at package import'
from botfleet.adapters.exchanges import make_client
make_client('valr', {})
assert 'ccxt' not in sys.modules, 'an own client pulled in ccxt'
print(elapsed)
"""


def test_importing_the_packages_does_not_import_ccxt():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) < 0.25
