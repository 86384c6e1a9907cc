#!/usr/bin/env python3
"""CDK app entry point (cdk.json: `.venv/bin/python infra/app.py`: the venv's interpreter, which has aws-cdk-lib, not
whatever `python` the shell finds). All the work is in botfleet_infra."""

import sys
from pathlib import Path

# `python infra/app.py` from the repo root must work even before the repo is pip-installed (editable).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from botfleet_infra.app import build_app

if __name__ == "__main__":
    build_app()
