# Two commands for a newcomer: `make run` (demo on SQLite) and `make test` (the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# The suite runs on this many pytest-xdist workers, each with its own PostgreSQL and Redis database.
TEST_WORKERS ?= 2

.PHONY: run test lint format bench prod-check install system-deps translations clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

system-deps:
	@bash .ci/system-deps run

translations: install
	@$(BIN)/pybabel compile --statistics -d workshops/translations 2>&1 | grep -v "^compiling" || true

# Serve the demo on http://$(HOST):$(PORT) with a background worker beside it.
run: install system-deps translations
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C stops the web server and the worker)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	  $(BIN)/celery -A wsgi.celery_app worker --loglevel=warning --concurrency=1 --beat \
	    --schedule=instance/celerybeat-schedule & \
	  $(FLASK) run --host $(HOST) --port $(PORT)

# ruff (lint and format, settings in pyproject.toml) and mypy on the models and services.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Rewrites the tree in the house format and applies ruff's safe fixes.
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install translations lint
	@bash .ci/system-deps test
	$(BIN)/python -m pytest tests -q -n $(TEST_WORKERS) --dist loadgroup --durations=25

# Two gunicorn app servers on PostgreSQL, a Celery worker on Redis: a registration storm,
# then faults (the worker killed mid-job, SMTP and Redis down).
prod-check: install translations
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://root@127.0.0.1:5432/test} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/python -m pytest tests/test_two_app_servers.py tests/test_faults.py -q

bench: install translations
	WORKSHOPS_BENCH=1 $(BIN)/python -m pytest tests/bench -q -s -p no:cacheprovider

clean:
	rm -rf $(VENV) instance/*.sqlite
