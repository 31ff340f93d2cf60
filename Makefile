# Quick start: `make demo` and `make test`; each creates .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DB     ?= .slo/demo.db

.PHONY: demo test lint bench events clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

events: $(STAMP)
	$(BIN)/python events/generate.py --out events

demo: $(STAMP) events
	rm -f $(DB)
	$(BIN)/slo replay events/ --db $(DB)
	$(BIN)/slo status --db $(DB)
	$(BIN)/slo demo-example --db $(DB)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check processors correlation tests bench events
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .slo .pytest_cache
