# Every target creates or reuses .venv and installs what it needs: on a fresh machine
# these are the only commands to know.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LNBITS_VERSION := 1.6.2
LNBITS_VENV := .cache/lnbits-$(LNBITS_VERSION)
LNBITS_STAMP := $(LNBITS_VENV)/.installed

.PHONY: venv demo test test-fast bench lint api-coverage api-exercised lnbits prometheus chromium dist clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

# A real LNbits in its own venv (its pins clash with ours). bitstring<5 is required:
# bitstring 5 breaks LNbits' bolt11 dependency at import.
lnbits: $(LNBITS_STAMP)

$(LNBITS_STAMP):
	test -x $(LNBITS_VENV)/bin/python || $(PYTHON) -m venv $(LNBITS_VENV)
	$(LNBITS_VENV)/bin/pip install -q --upgrade pip
	$(LNBITS_VENV)/bin/pip install -q "lnbits==$(LNBITS_VERSION)" "bitstring<5"
	cd /tmp && $(CURDIR)/$(LNBITS_VENV)/bin/python -c "import lnbits.app"
	touch $(LNBITS_STAMP)

# A real Prometheus for the metrics and Grafana-panel tests (Debian's package). Idempotent:
# apt runs only when the binary is missing, and waits for another apt to finish.
APT := DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600
prometheus:
	command -v prometheus >/dev/null 2>&1 || ($(APT) update && $(APT) install -y prometheus)

# Debian's Chromium for the dashboard's browser tests (driven by Playwright, which never
# downloads a browser of its own here). Idempotent: apt runs only when it is missing.
chromium:
	test -x /usr/bin/chromium || ($(APT) update && $(APT) install -y chromium)

demo: venv
	-$(MAKE) lnbits
	$(BIN)/lnpilot demo

test: venv lnbits prometheus chromium
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/pytest -q -rs

test-fast: venv
	$(BIN)/pytest -q -rs -m "not slow"

bench: venv lnbits chromium
	$(BIN)/python bench/client_overhead.py
	$(BIN)/python bench/simnet_speed.py
	$(BIN)/python bench/store_speed.py
	$(BIN)/python bench/fees_sim.py
	$(BIN)/python bench/league.py --quick
	$(BIN)/python bench/rebalance_sim.py
	$(BIN)/python bench/api_speed.py
	$(BIN)/python bench/api_load.py

lint: venv
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

# The sdist and, built from it (so the sdist is known complete), the wheel, into $(DIST).
# build fetches setuptools for its isolated build environment from the package index.
DIST ?= dist
dist: venv
	$(BIN)/python -m build --outdir $(DIST) .

api-coverage: venv
	$(BIN)/python scripts/api_coverage.py

# Record what the tests really send (the LNbits tests and the extensions'), then count it.
api-exercised: venv
	rm -f .cache/api_exercised.json
	LNPILOT_API_EXERCISED=.cache/api_exercised.json $(BIN)/pytest -q -p no:cacheprovider \
		tests/client tests/extensions tests/node tests/cli tests/test_lnbits_server.py \
		tests/test_no_double_payment.py; status=$$?; $(BIN)/python scripts/api_coverage.py; exit $$status

clean:
	rm -rf $(VENV) .cache build dist src/*.egg-info
