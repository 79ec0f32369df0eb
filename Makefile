# The two commands of the README: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
DEMO_PORT ?= 5000

.PHONY: demo test bench lint catalogs screenshots lighthouse clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# DEMO_PORT: `make demo DEMO_PORT=5001` or `DEMO_PORT=5001 make demo`; DEMO_INSTANCE (the folder
# that keeps its key, database and mail, default instance/) and FLASK_* settings pass through.
demo: $(STAMP)  ## Run the demo portal on http://127.0.0.1:$(DEMO_PORT) (SQLite + built-in mail viewer)
	$(BIN)/python -m examples.portal --port $(DEMO_PORT)

AXE = $(VENV)/axe/node_modules/axe-core/axe.min.js

# axe-core (from the npm registry) for the accessibility tests; skipped without npm.
$(AXE):
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@4; \
	else echo "npm not found: the accessibility tests will be skipped"; fi

LIGHTHOUSE = $(VENV)/lighthouse/node_modules/.bin/lighthouse

# Lighthouse (from the npm registry) for the audit of the login windows; skipped without npm
# (CI, which has npm, requires it).
$(LIGHTHOUSE):
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/lighthouse lighthouse@12; \
	else echo "npm not found: the Lighthouse tests will be skipped"; fi

lighthouse: $(STAMP) $(LIGHTHOUSE)  ## Lighthouse's accessibility audit (score 1.0) of the login windows, with Debian's Chromium
	$(BIN)/python -m pytest -q tests/browser/test_lighthouse.py

test: $(STAMP) $(AXE) $(LIGHTHOUSE)  ## Run the whole test suite (SQLite; PostgreSQL with INDUSTRY_AUTH_TEST_DATABASE_URL)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

SHOWN = login login-business login-citizen register register-confirm register-errors applicant-management profile \
        change-password-first login-failed admin-account admin-lifecycle

screenshots: $(STAMP) $(AXE)  ## Refresh docs/screenshots/ from the browser tests
	$(BIN)/python -m pytest -q tests/browser/test_accessibility.py
	mkdir -p docs/screenshots
	for page in $(SHOWN); do for locale in zh_Hant_TW en; do for width in 1280 360; do \
	  cp build/screenshots/$$page-$$locale-$$width.png docs/screenshots/; done; done; done

bench: $(STAMP)  ## Benchmarks against Flask-Security-Too and bare Flask (needs PostgreSQL, wrk)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; } || \
	  { echo "wrk is needed: apt-get install wrk"; exit 1; }
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

catalogs: $(STAMP)  ## Re-extract and compile the translation catalogs
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _ -k lazy_gettext -k N_ -k applicant_gettext --no-location --sort-output -w 100 -o flask_industry_auth/translations/industry_auth.pot .
	$(BIN)/pybabel update -w 100 -D industry_auth -i flask_industry_auth/translations/industry_auth.pot -d flask_industry_auth/translations
	$(BIN)/pybabel compile -D industry_auth -d flask_industry_auth/translations

clean:
	rm -rf $(VENV) build dist .pytest_cache
