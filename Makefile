# tidings: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
NODE_DIR := tests/compat/node
TEST_PG ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint fmt typecheck bench venv dev clean pgcheck node

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(STAMP)
dev: $(DEVSTAMP)

## run: set up, migrate the embedded SQLite store, create a demo domain and key, and serve
run: $(STAMP)
	mkdir -p var
	$(BIN)/tidings migrate
	$(BIN)/tidings demo
	$(BIN)/tidings serve

## test: lint, type-check and run the whole suite on SQLite and PostgreSQL
test: $(DEVSTAMP) node pgcheck lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

pgcheck:
	@$(BIN)/python -c "import asyncio, asyncpg, sys; \
	exec('async def c():\n c = await asyncpg.connect(\"$(TEST_PG)\", timeout=5)\n await c.close()'); \
	asyncio.run(c())" || { echo "PostgreSQL is unreachable at $(TEST_PG): the suite needs it (it never skips it)"; exit 1; }

node: $(NODE_DIR)/node_modules/.installed
$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm install --no-audit --no-fund --silent
	touch $@

lint: $(DEVSTAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fmt: $(DEVSTAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

## bench: the benchmarks of bench/ (not part of `make test`); figures go to bench/RESULTS.md
bench: $(DEVSTAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache $(NODE_DIR)/node_modules
