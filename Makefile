# BrokerOS — `make run` starts the whole demo, `make test` runs the suite. Both set up everything first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
ENV_FILE := .local/env.sh
WITH_ENV := source $(ENV_FILE) &&
VENDOR := themes/static/vendor

.PHONY: browser run test bench e2e lint install static services migrate seed messages clean-local

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR)/.copied: node_modules/.installed
	@mkdir -p $(VENDOR)/bootstrap $(VENDOR)/htmx $(VENDOR)/chartjs
	cp -r node_modules/bootstrap/dist/css node_modules/bootstrap/dist/js $(VENDOR)/bootstrap/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map $(VENDOR)/chartjs/
	@touch $@

static: $(VENDOR)/.copied

# Finds (or starts, or installs) PostgreSQL and Redis and writes their URLs to .local/env.sh.
services: install
	@mkdir -p .local
	@$(PY) deploy/dev/services.py > $(ENV_FILE).tmp && mv $(ENV_FILE).tmp $(ENV_FILE)

migrate: services
	$(WITH_ENV) $(PY) manage.py migrate_schemas --shared -v 0
	$(WITH_ENV) $(PY) manage.py ensure_platform --operator-email ops@brokeros.local --operator-password 'operator-demo-2026' -v 0
	$(WITH_ENV) $(PY) manage.py migrate_tenants -v 0

seed: migrate static
	$(WITH_ENV) $(PY) manage.py seed_demo

# Compiles the Spanish and Arabic catalogues (locale/*/LC_MESSAGES/*.po -> .mo, not committed): GNU msgfmt through
# Django when installed, else babel's pure-Python compiler (a pyproject dependency), so a fresh clone needs no apt.
messages: install
	@if command -v msgfmt >/dev/null 2>&1; then { [ -f $(ENV_FILE) ] && source $(ENV_FILE); } ; $(PY) manage.py compilemessages -v 0; \
	  else for d in django djangojs; do ls locale/*/LC_MESSAGES/$$d.po >/dev/null 2>&1 && \
	    $(VENV)/bin/pybabel -q compile -d locale -D $$d; done; true; fi

run: seed messages
	$(WITH_ENV) $(PY) deploy/dev/run.py

# Debian's Chromium for the browser journeys (playwright install cannot download here); apt only as root.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed: browser journeys will be skipped"

test: services static browser messages
	$(WITH_ENV) $(PY) -m pytest $(PYTEST_ARGS)

e2e: services static browser messages
	$(WITH_ENV) $(PY) -m pytest tests/e2e -m e2e $(PYTEST_ARGS)

bench: migrate
	$(WITH_ENV) $(PY) bench/provisioning.py
	$(WITH_ENV) $(PY) bench/webhooks.py
	$(WITH_ENV) $(PY) bench/screening.py
	$(WITH_ENV) $(PY) bench/sync.py
	$(WITH_ENV) $(PY) bench/commissions.py
	$(WITH_ENV) $(PY) bench/scale.py
	$(WITH_ENV) $(PY) bench/fairness.py

lint: install
	$(VENV)/bin/ruff check .

clean-local:
	@if [ -f .local/pg/postmaster.pid ]; then runuser -u postgres -- $$(ls -d /usr/lib/postgresql/*/bin | tail -1)/pg_ctl -D .local/pg stop || true; fi
	@if [ -f .local/redis/redis.pid ]; then kill $$(cat .local/redis/redis.pid) || true; fi
	rm -rf .local
