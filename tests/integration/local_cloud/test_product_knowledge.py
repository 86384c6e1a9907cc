"""What the local cloud knows about botfleet stays in botfleet_local/profile.py; the rest reads the template."""

from __future__ import annotations

import re

from tests.integration.local_cloud.conftest import REPO

PACKAGE = REPO / "infra" / "local" / "botfleet_local"
# Product details a generic module has no business naming (profile.py holds them; cli.py is botfleet's
# command line and has its options; smoke.py is a client of botfleet's API, not part of the emulator).
PRODUCT_DETAILS = ("ProvisionFunctionName", "ensure_admin", "seed_demo", "market_move", "move_pct", "BOTFLEET_",
                   "botfleet:light", "@botfleet.local", "/api/ws", "infra/app.py", "POWERTOOLS", "generate_password")
KNOWS_THE_PRODUCT = {"profile.py", "cli.py", "smoke.py"}


def test_only_the_profile_knows_product_details():
    found = {f.name: [d for d in PRODUCT_DETAILS if d in f.read_text()]
             for f in sorted(PACKAGE.glob("*.py")) if f.name not in KNOWS_THE_PRODUCT}
    assert {name: details for name, details in found.items() if details} == {}


def test_the_profile_reaches_the_generic_parts_through_cloud_only():
    imports_profile = re.compile(r"^\s*(from (\.|botfleet_local) import .*\bprofile\b"
                                 r"|from (\.|botfleet_local\.)profile import|import botfleet_local\.profile)", re.M)
    assert {f.name for f in PACKAGE.glob("*.py") if imports_profile.search(f.read_text())} == {"cloud.py"}
