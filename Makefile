# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Python packages come from uv.lock (uv is installed with pip when missing); system
# packages only through apt-get, and only when missing.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test test-db lint bench browser translations serve worker clean

install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --frozen --quiet
	@$(MAKE) --no-print-directory translations

translations:
	@$(BIN)/pybabel compile --use-fuzzy -q -d portal/translations 2>/dev/null || $(BIN)/pybabel compile -q -d portal/translations

# Debian's chromium for the browser tests (Playwright's own download cannot work here).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: install
	@$(BIN)/traceport demo

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/lint-imports --no-cache

test: install browser lint
	@$(BIN)/pytest

# The database tests only, e.g. against another server: DATABASE_URL=... make test-db
test-db: install
	@$(BIN)/pytest --ignore=tests/e2e

bench: install
	@$(BIN)/python -m bench

serve: install
	@$(BIN)/traceport serve

worker: install
	@$(BIN)/traceport worker

clean:
	@$(BIN)/traceport db stop 2>/dev/null || true
	rm -rf .data
