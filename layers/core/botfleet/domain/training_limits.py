"""How big a training run may be: shared by the API schema and the training service, and light to import
(the training function's cold start must not pay for numpy to validate a request)."""

DEFAULT_BUDGET = 400  # parameter sets per run (the full grid when it is smaller)
MAX_BUDGET = 5000
DEFAULT_CANDLES = 4320  # three days of one-minute candles
MIN_CANDLES = 500
MAX_CANDLES = 43_200  # thirty days
