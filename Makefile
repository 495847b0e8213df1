# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Python packages come from uv.lock (uv is installed with pip when missing); system
# packages only through apt-get, and only when missing.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test test-db lint bench browser pdf oidc translations messages serve worker clean

install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --frozen --quiet
	@$(MAKE) --no-print-directory translations

translations:
	@$(BIN)/pybabel -q compile -d portal/translations

# After changing user-facing text: extract every package's messages (babel.cfg) and merge
# them into the catalogs; then translate the new entries (tests/portal/test_translations.py
# fails while one is missing, empty or fuzzy in either language).
messages:
	@pot=$$(mktemp --suffix=.pot) && \
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k N_ --sort-output -o $$pot . && \
	$(BIN)/pybabel -q update -i $$pot -d portal/translations --no-fuzzy-matching --ignore-obsolete; \
	rm -f $$pot

# Debian's chromium for the browser tests (Playwright's own download cannot work here),
# and a Chinese font so that the zh-CN screenshots show characters, not boxes.
browser:
	@test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# Pango, which weasyprint lays out the printed purchase orders with, and the Chinese font
# their print stylesheet names ("Noto Sans CJK SC"), so that zh-CN PDFs show characters,
# not boxes; poppler's pdftoppm, with which the label tests read barcodes off a rendered page.
# The check is the real thing: the font and pdftoppm are found and weasyprint imports.
pdf: install
	@fc-list 'Noto Sans CJK SC' 2>/dev/null | grep -q . && command -v pdftoppm >/dev/null 2>&1 && $(BIN)/python -c 'import weasyprint' >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk poppler-utils >/dev/null; }

# Debian's Node.js and npm, and the pinned OpenID Connect provider (tests/oidc/package-lock.json)
# that the SSO tests start on localhost. npm installs again only when the lock file is newer
# than the last install (npm ci writes node_modules/.package-lock.json).
oidc:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@test tests/oidc/node_modules/.package-lock.json -nt tests/oidc/package-lock.json || { cd tests/oidc && npm ci --silent --no-audit --no-fund; }

demo: install pdf
	@$(BIN)/traceport demo

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/lint-imports --no-cache

test: install browser pdf lint oidc
	@$(BIN)/pytest

# The database tests only, e.g. against another server: DATABASE_URL=... make test-db
test-db: install pdf oidc
	@$(BIN)/pytest --ignore=tests/e2e

# wrk (Debian) drives the page benchmark; without it bench/loadgen.py falls back to Python.
bench: install
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || echo "wrk not installed: the page benchmark uses its Python load generator"
	@$(BIN)/python -m bench

serve: install
	@$(BIN)/traceport serve

worker: install
	@$(BIN)/traceport worker

clean:
	@$(BIN)/traceport db stop 2>/dev/null || true
	rm -rf .data
