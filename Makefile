# Kontora: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB := var/kontora.sqlite3

.PHONY: run test lint bench clean

$(BIN)/kontora: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/kontora
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(DB): | $(BIN)/kontora
	$(BIN)/kontora init --demo

run: $(BIN)/kontora $(DB)
	@echo "Demo login: admin / admin (and demo / demo1234)"
	$(BIN)/kontora addons upgrade --all --yes
	$(BIN)/kontora serve

# One pytest worker per core (pytest-xdist); each builds its own templates of installed
# databases (core.testing). Plain `.venv/bin/pytest` runs in one process.
test: $(VENV)/.test-deps
	$(BIN)/pytest -n auto --dist worksteal

lint: $(VENV)/.test-deps
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(BIN)/kontora
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var
