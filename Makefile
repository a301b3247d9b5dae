# ChatDirect: `make run` serves the demo, `make test` runs the whole suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test bench lint format clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("ChatDirect needs Python 3.11 or newer (found %s); set PYTHON=python3.x" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

# Exactly the versions CI tested: the lock pins the whole dependency tree.
$(INSTALLED): requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

.env: | $(INSTALLED)
	$(BIN)/python scripts/dev_env.py

setup: $(INSTALLED) .env

run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "ChatDirect on http://$(HOST):$(PORT)/  (admin: /admin/, portal: /portal/, demo site: /demo/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run_all.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
