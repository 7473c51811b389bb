# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app govern

.PHONY: run test install install-test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet --editable .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test]'

# Installs, creates the SQLite database in instance/, loads the demo, then serves
# http://127.0.0.1:5000 with a mail worker beside it (mail lands in instance/mail/).
run: export GOVERN_ENV ?= development
run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	trap 'kill 0' INT TERM EXIT; $(FLASK) worker --interval 2 & $(FLASK) run --port 5000

# Installs what the tests need (Python packages; Chromium when root), starts the
# local PostgreSQL when it is installed but stopped, and runs the whole suite.
test: install-test
	./scripts/test

lint: install-test
	$(BIN)/ruff check govern tests bench
	$(BIN)/ruff format --check govern tests bench
