# `make run` starts the gateway; `make test` installs what tests need and runs them all.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
HOST ?= 127.0.0.1

.PHONY: install install-dev run test test-fast lint bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	# The `rolegate` command, working from any directory (an editable install of this folder).
	$(PY) -m pip install -q --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed node_modules/.installed

install-dev: install $(VENV)/.installed-dev
	./scripts/install-system-packages.sh

run: install
	PATH=$(VENV)/bin:$$PATH HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py app:app

test-fast: install-dev
	$(VENV)/bin/pytest tests/unit

test: install-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

bench: install-dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache
