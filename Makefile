# The two commands of the quick start: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

# Tests run on real services: PostgreSQL and Redis (override with the environment).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/registry
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test install install-dev lint format serve clean

$(VENV)/.installed-runtime: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (Debian: apt-get install python3.11 python3.11-venv)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install the front-end assets (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed-runtime node_modules/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed

# The embedded default: SQLite under var/, tasks in-process, the demo study and users loaded.
demo: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	@$(PY) manage.py load_demo
	@echo
	@echo "Serving on http://127.0.0.1:$(PORT)/  (log in with a demo login above; Ctrl-C stops)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

test: install-dev
	@test -x $(CHROMIUM) || { echo "Chromium is needed for the browser tests at $(CHROMIUM) (Debian: apt-get install chromium)"; exit 1; }
	$(VENV)/bin/ruff check .
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(PY) manage.py check_services --require-postgres --require-broker --create-database
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		DJANGO_ENV=test $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules var staticfiles .pytest_cache .ruff_cache
