"""`python -m botfleet_local local ...` is the same as `botfleet local ...`."""

import sys

from .cli import main

sys.exit(main())
