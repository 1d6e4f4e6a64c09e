# Two commands: `make run` (install + serve with the Studio) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(CURDIR)/rookdb-data
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test install install-dev lint bench clean

$(BIN)/rookdb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BIN)/rookdb

$(VENV)/.dev-installed: $(BIN)/rookdb
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/rookdb

install-dev: $(VENV)/.dev-installed

run: install
	@echo "rookdb: serving http://$(HOST):$(PORT)/ (data in $(DATA_DIR)); the first start prints an admin API key for the Studio login"
	$(BIN)/rookdb serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

test: install-dev
	bash scripts/test-deps.sh
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest; code=$$?; if [ $$code -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$code

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python benchmarks/core.py

clean:
	rm -rf $(VENV) rookdb-data .pytest_cache .mypy_cache
