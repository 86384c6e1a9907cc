# botfleet: `make run` starts the local cloud with demo bots; `make test` sets up what is missing and runs
# every test tier. Everything installs into .venv; nothing global but Debian packages when a tier needs one.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help venv system-packages web browser run test test-fast lint format unit integration infra local-cloud e2e fuzz openapi openapi-check \
        synth bench bench-training bench-web bench-decisions bench-scale bench-cost bench-ws bench-tick-latency bench-metrics clean

help:
	@echo "make run            start the local cloud with demo bots (READY http://127.0.0.1:8000)"
	@echo "make test           install what is missing, lint, check openapi, run every test tier"
	@echo "make test-fast      unit + integration, without the local cloud (a few minutes)"
	@echo "make unit|integration|infra|local-cloud|e2e|fuzz   one tier;  make test-one T=tests/unit/test_x.py"
	@echo "make bench          startup, cold starts, DynamoDB calls/bot/tick, decisions/s, paper fills/s"
	@echo "make bench-training the backtester vs vectorbt and backtesting.py (installs the peers)"
	@echo "make bench-web      the dashboard: first-load JS gzipped; long tasks with 500 bots and 50 fills/s"
	@echo "make bench-decisions  strategy decisions/s per family, batched per market vs bot by bot (goal 200,000)"
	@echo "make bench-scale    the tick at fleet size (BOTS=1000): write/read units per bot per tick, engine runs"
	@echo "make bench-cost     cost per bot-month, 1,000 and 10,000 bots, us-east-1 and af-south-1 (goal 0.02 USD)"
	@echo "make bench-ws       1,000 WebSocket connections: tick -> trade message p50/p95/max, lost (goal p95 250 ms)"
	@echo "make bench-tick-latency  an engine run's writes, shards read one by one vs ahead, with a round trip per call"
	@echo "make bench-metrics  an admin's fleet metrics read: CPU a bot, read units, its time in the ops function"
	@echo "make openapi        regenerate docs/openapi.json;  make synth  synthesize the CDK app (light)"
	@echo "make web            build the dashboard (web/ → web/dist; npm ci from the lock when needed)"
	@echo "make browser        the browser tier: Debian's chromium driven by Playwright against the local cloud"
	@echo "make smoke BASE=URL check a deployed stack end to end (exit 1 on any failure)"
	@echo "make localstack     deploy into a pinned LocalStack community (no Docker), smoke-check, tear down; timings"
	@echo "make synth-full     the real FULL synth (pip for Lambda) and each function's unzipped size vs 250 MB"

$(STAMP): requirements-dev.txt layers/deps/requirements.txt pyproject.toml
	@command -v node >/dev/null || { echo "Node.js is needed for CDK synth: apt-get install -y nodejs"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Debian packages tests run for real (nothing is faked): nginx for the WebSocket proxy guide's e2e; chromium (and
# the Liberation fonts it recommends) for the browser tier — Playwright's own browser download cannot work here.
# Installed only when missing; needs root (CI runs as root) or sudo.
DEBIAN_PACKAGES := nginx-light:/usr/sbin/nginx chromium:/usr/bin/chromium \
                   fonts-liberation:/usr/share/fonts/truetype/liberation
system-packages:
	@missing=""; for entry in $(DEBIAN_PACKAGES); do \
	  test -x "$${entry#*:}" || missing="$$missing $${entry%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  as_root=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$as_root apt-get install -y -qq $$missing >/dev/null; \
	fi

# The dashboard (docs/dashboard.md): `npm ci` from the lock only when node_modules is missing or the lock changed,
# then a Vite build into web/dist, which the local cloud serves (profile.WEB_DIR) and CloudFront would.
WEB_STAMP := web/node_modules/.botfleet-installed
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json
$(WEB_STAMP): web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to build the dashboard: apt-get install -y nodejs npm"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run --silent build

web: web/dist/index.html

# The browser tier: Playwright (Python) drives Debian's chromium headless against the real local cloud.
browser: $(STAMP) system-packages web
	$(PY) -m pytest tests/browser -q -p no:cacheprovider

run: $(STAMP) web
	$(VENV)/bin/botfleet local --demo --tick-seconds $${BOTFLEET_TICK_SECONDS:-5}

lint: $(STAMP)
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

openapi: $(STAMP)
	$(PY) scripts/openapi.py --write

openapi-check: $(STAMP)
	$(PY) scripts/openapi.py --check

synth: $(STAMP)
	CDK_OUTDIR=cdk.out CDK_CONTEXT_JSON='{"botfleet:light": true}' $(PY) infra/app.py

# What `cdk deploy` builds, for real (pip against the package registry), kept in cdk.out/full; prints the
# package-size table of docs/deployment.md. Also part of `make infra`.
.PHONY: synth-full
synth-full: $(STAMP)
	$(PY) -m pytest tests/infra/test_full_synth.py -q -s

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP)
	$(PY) -m pytest tests/integration --ignore=tests/integration/local_cloud -q

local-cloud: $(STAMP)
	$(PY) -m pytest tests/integration/local_cloud -q

infra: $(STAMP)
	$(PY) -m pytest tests/infra -q

e2e: $(STAMP) system-packages
	$(PY) -m pytest tests/e2e -q

# One end-to-end check of a running stack (the local cloud, LocalStack, AWS): a throwaway user walks the product and
# is deleted again. BOTFLEET_ADMIN_EMAIL / BOTFLEET_ADMIN_PASSWORD add the admin checks; SMOKE_ARGS passes more options
# (e.g. SMOKE_ARGS="--tick invoke --tick-function <name>"). See infra/local/README.md, "Smoke check".
.PHONY: smoke
smoke: $(STAMP)
	@test -n "$(BASE)" || { echo "usage: make smoke BASE=http://127.0.0.1:8000  (the stack's base URL)"; exit 2; }
	$(PY) -m botfleet_local smoke --base-url $(BASE) $(SMOKE_ARGS)

# schemathesis over docs/openapi.json against the local cloud (user, admin, no token) + hand-made bad inputs.
fuzz: $(STAMP)
	$(PY) -m pytest tests/fuzz -q

test-one: $(STAMP)
	$(PY) -m pytest $(T) -q

test-fast: $(STAMP)
	$(PY) -m pytest tests/unit tests/integration --ignore=tests/integration/local_cloud -q

# One pytest run over every tier, so its closing line counts everything.
test: $(STAMP) system-packages web lint openapi-check
	$(PY) -m pytest tests/unit tests/integration tests/infra tests/e2e tests/fuzz tests/browser -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) tests/bench/foundation.py
	$(PY) tests/bench/paper.py
	$(PY) tests/bench/quarantine.py

# The peers (vectorbt brings numba) are installed only for this benchmark, never into the Lambda layers.
bench-training: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-bench.txt
	$(PY) tests/bench/training.py

# The dashboard (docs/dashboard.md, "Performance"): the first load's gzipped JS, and the bots view of 500 bots in
# Debian's chromium against the local cloud while 50 trade events a second arrive (long tasks, events/s).
bench-web: $(STAMP) system-packages web
	$(PY) tests/bench/web.py

# Scale and cost (docs/scaling.md). Decisions: every strategy family, a fleet on one market, batched vs per bot.
bench-decisions: $(STAMP)
	$(PY) tests/bench/decisions.py

# The real tick over BOTS paper bots against moto, metered in billed DynamoDB units (quiet and 10 % trading fleets).
BOTS ?= 1000
bench-scale: $(STAMP)
	$(PY) tests/bench/scale.py --bots $(BOTS)

# The cost model: bench-scale's measured counts times AWS's published prices; one line per scenario and region.
bench-cost: $(STAMP)
	$(PY) tests/bench/cost.py

bench-ws: $(STAMP) web
	$(PY) tests/bench/ws.py

# When an engine run's bots are written, its shards read one after another or eight ahead (moto + a round trip).
bench-tick-latency: $(STAMP)
	$(PY) tests/bench/tick_latency.py

# An admin's GET /api/metrics reads the fleet's figures (once a minute): per bot, whole bots vs the projected figures.
bench-metrics: $(STAMP)
	$(PY) tests/bench/metrics_read.py

clean:
	rm -rf cdk.out .local .pytest_cache .ruff_cache

# Deploy the stack into LocalStack community (pinned, installed into .localstack/ on first use), smoke-check it, tear
# it down; prints the timings. infra/localstack/README.md. `make localstack-setup` only installs.
.PHONY: localstack localstack-setup
localstack: $(STAMP)
	$(PY) infra/localstack/run.py

localstack-setup: $(STAMP)
	$(PY) infra/localstack/run.py --setup-only
