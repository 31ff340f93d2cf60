# Quick start: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DB     ?= .slo/demo.db
DB_IMPORT ?= .slo/demo-import.db

.PHONY: demo demo-import test test-slow test-browser lint bench events dashboards sam-build clean venv checkov

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# Deterministic sample traffic: 4 days of the runner platform as Lambda Kinesis events on two shards, healthy
# but for one 6-minute incident 5 hours before the end (events/generate.py; the docs use its 8-hour sample).
events: $(STAMP)
	$(BIN)/python events/generate.py --out events --days 4

# Replays the generated traffic (events/stream/), not events/sample-kinesis-event.json: that one is the
# hand-written event for `sam local invoke` (two milestones of a webhook outside the generated traffic).
demo: events
	rm -f $(DB)
	$(BIN)/slo replay events/stream/ --db $(DB)
	@echo; echo "== slo status at the end of the 4 days (the line under the time says how much of each SLO window they cover) =="
	$(BIN)/slo status --db $(DB)
	@echo; echo "== slo alerts: every transition the backtest recorded over the 4 days: the incident's page, fired and resolved =="
	$(BIN)/slo alerts --db $(DB)
	@echo; echo "== slo trace: the page's first exemplar (a request that failed during the incident) =="
	$(BIN)/slo trace $$($(BIN)/slo alerts --db $(DB) --json | $(BIN)/python -c \
	  "import json,sys; print(next(t['exemplars'][0] for t in json.load(sys.stdin) if t['severity']=='page' and t.get('exemplars')))") --db $(DB)
	@echo; echo "== slo scorecard: each SLO against the spec's targets over the 4 days =="
	$(BIN)/slo scorecard --db $(DB)
	@echo; echo "== slo report --month: the monthly HTML report (scorecard, compliance per day, incidents) =="
	$(BIN)/slo report --db $(DB) --month 2026-10 --step 5m --out report.html

# Two pytest-xdist workers (the machine has 2 cores; fewer when it has 1); each worker starts its own moto
# server once (tests/conftest.py). Whole files go to one worker, so module fixtures are built once.
WORKERS := $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 2 ] && n=2; echo $$n)
PYTEST  := $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile --durations=15

# The docs' 8-hour sample, backfilled with `slo import` from a local CloudWatch Logs (moto's server) seeded with
# it; prints the status table `slo replay` of that sample prints. The alerts under it can differ by a minute:
# import reads the log groups by event time, replay the shards by arrival (the page fires at 03:04, not 03:05).
demo-import: $(STAMP)
	rm -rf .slo/events-8h $(DB_IMPORT)
	$(BIN)/python events/generate.py --out .slo/events-8h
	$(BIN)/python events/local_logs.py .slo/events-8h/ -- $(BIN)/slo import \
	  --log-group-prefix /aws/lambda/gha- --log-group-prefix /ecs/gha- --log-group-prefix /aws/apigateway/gha- \
	  --since 2026-10-01T00:00:00Z --until 2026-10-01T09:00:00Z --logs-endpoint-url {endpoint} --db $(DB_IMPORT)
	@echo; echo "== slo status (at the end of the sample) =="
	$(BIN)/slo status --db $(DB_IMPORT)

test: $(STAMP)
	$(PYTEST)

# The slow tier: long property runs and accuracy sweeps (`-m slow`); .ci/run runs it after `make test`.
test-slow: $(STAMP)
	$(PYTEST) -m slow

# Renders the HTML report in headless Chromium (installs Debian's chromium when missing).
test-browser: $(STAMP)
	bash .ci/install-chromium
	$(BIN)/python -m pytest -q -m browser tests/browser

# checkov in its own venv: it pins boto3/botocore older than the project's, so it never joins .venv.
# tests/functional/test_template_hardening.py runs it when present (and says how to get it when not).
checkov: $(STAMP)
	test -x .venv-checkov/bin/checkov || ($(PYTHON) -m venv .venv-checkov && \
	  .venv-checkov/bin/python -m pip install -q 'checkov>=3.2,<4')
	$(BIN)/python -m pytest -q tests/functional/test_template_hardening.py

lint: $(STAMP)
	$(BIN)/ruff check processors correlation subscriptions tests bench events sam
	$(BIN)/mypy

# Every README figure, before (the commit issue #15 started from) and after, in one run: bench/harness.py.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -r bench/requirements.txt
	$(BIN)/python bench/harness.py
	@echo; echo "== cold start: each handler's import CPU against import boto3 (README) =="
	$(BIN)/python bench/bench_coldstart.py
	@echo; echo "== N shard workers on one table: contention, retries, CPU, evaluator reads (docs/store.md) =="
	$(BIN)/python bench/bench_concurrency.py
	@echo; echo "== DynamoDB requests and write units per 1,000 events (docs/store.md) =="
	$(BIN)/python bench/bench_store_cost.py
	@echo; echo "== one replay vs one process per shard file + slo backtest, into DynamoDB (docs/deploy.md) =="
	$(BIN)/python bench/bench_parallel_replay.py

dashboards: $(STAMP)
	$(BIN)/slo dashboards --out sam/dashboards/

# `sam build` without Docker: the SAM CLI lives in its own venv; pip fetches wheels for the target arch.
# Then each function's package is compiled to bytecode (sam/precompile.py): sam build ships none, and /var/task
# is read-only, so every cold start compiled all it imported. The compiler is the template's runtime (python3.11),
# which sam build needs on PATH as well: another version's bytecode would be ignored.
RUNTIME_PYTHON := $(shell sed -n 's/^ *Runtime: *\(python3\.[0-9]*\).*/\1/p' sam/template.yaml | sort -u)
sam-build:
	test -x .venv-sam/bin/sam || ($(PYTHON) -m venv .venv-sam && .venv-sam/bin/pip install -q aws-sam-cli)
	.venv-sam/bin/sam build --template sam/template.yaml
	$(RUNTIME_PYTHON) sam/precompile.py --template sam/template.yaml .aws-sam/build/*/

clean:
	rm -rf $(VENV) .slo .pytest_cache report.html events/stream
