# RevivaTech — the two commands are `make run` (set up + run with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := run
.PHONY: run setup install install-dev test test-dates settings-reference lint format check-deploy worker beat compose-check rolling-restart clean

$(VENV)/.installed-runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-runtime requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

# Development: DEBUG on, and links in emails (pages build theirs from the request) point at the
# address `make run` serves, unless SITE_URL is already set.
DEV_ENV = DJANGO_DEBUG=$${DJANGO_DEBUG:-1} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}
# The set-up steps log warnings only: each prints one line of its own.
SETUP_ENV = $(DEV_ENV) LOG_LEVEL=$${LOG_LEVEL:-WARNING}

## setup: install, migrate the embedded SQLite database and load the demo data (one line per step;
## emails the demo sends are written to var/mail/, EMAIL_FILE_PATH)
SIMULATE_ARGS ?= --customers 400 --months 24
setup: install
	@$(SETUP_ENV) $(PY) manage.py migrate --noinput -v 0 && echo "Database ready."
	@$(SETUP_ENV) $(PY) manage.py seed_demo
	@$(SETUP_ENV) $(PY) manage.py seed_demo_payments
	@$(SETUP_ENV) $(PY) manage.py seed_dashboard_demo
	@$(SETUP_ENV) $(PY) manage.py simulate_shop $(SIMULATE_ARGS) --namespace demo --if-new
	@$(SETUP_ENV) $(PY) manage.py score_customers --if-unscored
	@$(SETUP_ENV) $(PY) manage.py ready_by_benchmark --save --if-untrained

## run: setup, then serve HTTP + WebSockets (ASGI, uvicorn) on http://$(HOST):$(PORT)
run: setup
	@echo ""
	@echo "Emails the site sends are written to files (one per message, newest: ls -t | head) in"
	@echo "  $${EMAIL_FILE_PATH:-$${DJANGO_VAR_DIR:-var}/mail}/"
	@echo "Stop the server with Ctrl+C."
	@echo ""
	@echo "  RevivaTech is running on http://$(HOST):$(PORT)/"
	@echo "  Logins: customer / technician / staff, password $${DEMO_PASSWORD:-revivatech-demo}"
	@echo ""
	@$(DEV_ENV) $(VENV)/bin/uvicorn revivatech.asgi:application \
		--host $(HOST) --port $(PORT) --lifespan off --log-level warning

## test: lint, then the whole test suite (SQLite locally; PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set)
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## test-dates: the date-sensitive tests again as if today were 45 days ahead and a 29 February
## (tests that start real worker processes are left out: only the test process's clock moves)
DATE_TESTS ?= tests/analytics tests/notifications tests/payments tests/repairs/readyby tests/flags
DATE_ARGS = -q -m "not browser and not e2e" --ignore=tests/notifications/test_worker_crash.py
test-dates: install-dev
	$(VENV)/bin/pytest $(DATE_ARGS) --clock=+45d $(DATE_TESTS) $(PYTEST_ARGS)
	$(VENV)/bin/pytest $(DATE_ARGS) --clock=2028-02-29 $(DATE_TESTS) $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## check-deploy: Django's deployment checklist with production settings
check-deploy: install
	DJANGO_PRODUCTION=1 DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')} \
		DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-shop.example.com} SITE_URL=$${SITE_URL:-https://shop.example.com} \
		DEFAULT_FROM_EMAIL="$${DEFAULT_FROM_EMAIL:-RevivaTech <repairs@shop.example.com>}" \
		$(PY) manage.py check --deploy --fail-level WARNING

## settings-reference: regenerate docs/settings-reference.md from revivatech/settings/ (a test checks it)
settings-reference: install
	$(PY) scripts/settings_reference.py

worker: install
	$(VENV)/bin/celery -A revivatech worker -l info

beat: install
	$(VENV)/bin/celery -A revivatech beat -l info

compose-check: install-dev
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

## rolling-restart: the rolling-restart drill alone, with its figures (PostgreSQL + Redis + nginx:
## DATABASE_URL, REDIS_URL; part of `make test` too)
rolling-restart: install-dev
	$(VENV)/bin/pytest -q -s tests/e2e/test_rolling_restart.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

## bench-realtime: WebSocket delivery latency at N = 100, 500, 2000 (needs PostgreSQL + Redis on 127.0.0.1)
bench-realtime: install-dev
	$(PY) benchmarks/realtime_latency.py $(BENCH_ARGS)

## bench-realtime-processes: 10,000 tracking sockets over two uvicorn processes, one restarted mid-run (PostgreSQL on 127.0.0.1)
bench-realtime-processes: install-dev
	$(PY) benchmarks/realtime_processes.py $(BENCH_ARGS)

## bench-lighthouse: Core Web Vitals budget (Lighthouse 12 on Debian's Chromium, loopback only)
benchmarks/lighthouse/node_modules/.bin/lighthouse: benchmarks/lighthouse/package.json
	cd benchmarks/lighthouse && npm install --no-audit --no-fund --no-package-lock

bench-lighthouse: install-dev benchmarks/lighthouse/node_modules/.bin/lighthouse
	$(PY) benchmarks/lighthouse_budget.py

## bench-ready-by: ready-by model vs the median by device kind on a time holdout of a fresh simulated shop (throwaway SQLite)
bench-ready-by: install-dev
	$(PY) benchmarks/ready_by.py $(BENCH_ARGS)

## bench-analytics: event ingestion throughput against a naive one-insert-per-request view (PostgreSQL + Redis)
bench-analytics: install-dev
	$(PY) benchmarks/analytics_ingest.py $(BENCH_ARGS)

## bench-ingest-ceiling: /api/v1/events/ (accepted and stored events/s, p99) as a share of a raw ASGI app and a bare Django view parsing the same batches (wrk; PostgreSQL + Redis)
bench-ingest-ceiling: install-dev
	$(PY) benchmarks/ingest_ceiling.py $(BENCH_ARGS)

## bench-dashboard: dashboard API queries over 5,000,000 events, rollups vs raw table (needs DATABASE_URL: PostgreSQL)
bench-dashboard: install-dev
	$(PY) benchmarks/dashboard_queries.py $(BENCH_ARGS)

## bench-notifications: 10,000 notifications through real workers against loopback fakes (PostgreSQL + Redis)
bench-notifications: install-dev
	$(PY) benchmarks/notifications_throughput.py $(BENCH_ARGS)

## faults: fault suite (worker SIGKILL, Redis restart, PostgreSQL outage, webhook storm), loopback, a few minutes
faults: install-dev
	$(PY) -m benchmarks.faults $(BENCH_ARGS)

## bench-load: 60 s mixed load (tracking pages, sockets, event batches, API reads) vs a naive baseline
bench-load: install-dev
	$(PY) benchmarks/load_mixed.py $(BENCH_ARGS)

## bench-smoke: every benchmark's --smoke mode in sequence (tiny sizes; fails when one no longer runs as documented)
bench-smoke: install-dev benchmarks/lighthouse/node_modules/.bin/lighthouse
	$(PY) benchmarks/smoke.py $(SMOKE)

## fuzz: schemathesis (all phases) against a live uvicorn on 127.0.0.1 as anonymous, customer, technician, staff
fuzz: install-dev
	$(PY) tests/security/run_fuzz.py $(FUZZ_ARGS)
