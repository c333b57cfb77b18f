# ChatRec: `make demo` sets everything up and serves http://127.0.0.1:8000; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
# DATA: a MovieLens archive to load beside the sample (ml-100k, ml-latest-small: read from CHATREC_DATA_DIR, else
# downloaded from GroupLens into var/downloads) or the path of an unpacked MovieLens folder. Empty: the sample, plus
# ml-100k when CHATREC_DATA_DIR holds it.
DATA ?=
# pip stays quiet about where it puts scripts and about its own version: only errors reach the console.
export PIP_DISABLE_PIP_VERSION_CHECK ?= 1
export PIP_NO_WARN_SCRIPT_LOCATION ?= 1
# A portable llama.cpp build (no host-specific CPU flags), so a built wheel works on any x86-64 machine.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: help install system-packages demo data models serve serve-multi worker beat lint test test-postgres bench clean

help:
	@echo "make demo       set up, load demo data, train, serve on http://$(HOST):$(PORT) with a Celery worker and beat"
	@echo "                (Ctrl-C stops all). Variables: PORT=$(PORT) HOST=$(HOST) DATA=ml-latest-small|ml-100k|PATH"
	@echo "                VENV=$(VENV); environment: CHATREC_DATA_DIR, DATABASE_URL, REDIS_URL, LOG_LEVEL (README)"
	@echo "make serve      only the web server (Daphne) on http://$(HOST):$(PORT)"
	@echo "make lint       ruff on the whole tree, mypy on common, the engine and the chat app"
	@echo "make test       lint, then the test suite (embedded default: SQLite, in-memory layers)"
	@echo "make test-postgres  the same suite on PostgreSQL + Redis (DATABASE_URL/REDIS_URL)"
	@echo "make serve-multi  WORKERS Daphne processes on one address (needs REDIS_URL for more than one)"
	@echo "make worker / make beat   run a Celery worker / the periodic scheduler"
	@echo "make bench      run the engine benchmark, python -m benchmarks.engine (data: CHATREC_DATA_DIR, default ../shared/data)"

$(BIN)/activate: requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip wheel
	$(BIN)/pip install -qq -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

# Chromium and a CJK font for the browser tests (apt-get as root; otherwise one line says what to install).
system-packages:
	bin/system-packages

data: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py load_demo $(if $(DATA),--data $(DATA))

models: install
	$(BIN)/python manage.py train

serve: install
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/daphne -b $(HOST) -p $(PORT) chatrec_site.asgi:application

# Several processes on one port, sharing the database and (REDIS_URL) the channel layer: chatrec_site/servemulti.py.
serve-multi: install
	$(BIN)/python manage.py collectstatic --noinput -v0
	VENV=$(VENV) bin/serve-multi --workers $(WORKERS) --host $(HOST) --port $(PORT)

demo: data models
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py setup_schedules -v0
	$(BIN)/python -m chatrec_site.demoserve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/celery -A chatrec_site worker --loglevel=info --concurrency=1

beat: install
	$(BIN)/python manage.py setup_schedules
	$(BIN)/celery -A chatrec_site beat --loglevel=info

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy common recommender/engine chat

test: lint install system-packages
	$(BIN)/python -m pytest

test-postgres: lint install system-packages
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chatrec} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m benchmarks.engine

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache .mypy_cache test-results
