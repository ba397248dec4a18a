# The two commands of the README's contract: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format messages worker browser check-deploy clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed-run $@

messages: $(VENV)/.installed-run
	DEBUG=1 $(MANAGE) compile_catalogues

# Fresh machine → running app: SQLite and a file-system broker under var/, a worker, demo data.
run: $(VENV)/.installed-run messages
	DEBUG=1 $(MANAGE) migrate --noinput
	DEBUG=1 $(MANAGE) seed_demo
	@echo "Starting a Celery worker and the web server on http://$(HOST):$(PORT)/ (Ctrl-C stops both)"
	@DEBUG=1 $(BIN)/celery -A contactcenter worker --pool solo --loglevel INFO & worker=$$!; \
	trap "kill $$worker 2>/dev/null; wait $$worker 2>/dev/null" EXIT INT TERM; \
	DEBUG=1 $(MANAGE) runserver $(HOST):$(PORT)

# A worker alone, e.g. beside `manage.py runserver` started by hand.
worker: $(VENV)/.installed-run
	DEBUG=1 $(BIN)/celery -A contactcenter worker --pool solo --loglevel INFO

# Fresh machine → the whole suite. With no DATABASE_URL/CELERY_BROKER_URL: SQLite and the
# file-system broker; CI sets them to PostgreSQL and Redis.
test: $(VENV)/.installed-dev messages browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The browser tests drive Debian's Chromium; install it when we may (root) and it is missing.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

check-deploy: $(VENV)/.installed-run
	DEBUG=0 SECRET_KEY=$$(head -c 48 /dev/urandom | base64) ALLOWED_HOSTS=contacts.example.com \
	  $(MANAGE) check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var
