# Two commands do everything on a fresh machine (Python 3.11+ and Node.js 20+ with npm):
#   make run    set up .venv and serve on the embedded SQLite default (DEMO=1 loads demo data)
#   make test   set up .venv and run the whole test suite
#   make bench  set up .venv with the profilers and run the benchmarks (docs/performance.md)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The pages' front-end assets (docs/frontend-assets.md): pinned in package-lock.json,
# installed by npm ci and copied into the static files; generated, never committed.
VENDOR := stafettlogg/web/static/vendor/.installed

.PHONY: setup run demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(VENDOR)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

$(VENDOR): package.json package-lock.json stafettlogg/web/assets.py
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	$(PYTHON) stafettlogg/web/assets.py
	touch $@

run: $(STAMP)
	$(BIN)/stafettlogg serve $(if $(DEMO),--demo)

demo: $(STAMP)
	$(BIN)/stafettlogg demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmark suite (bench/, docs/performance.md): SQLite, and PostgreSQL when
# STAFETTLOGG_BENCH_POSTGRES is set. BENCH_ARGS="--only write --profile" for parts.
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache node_modules stafettlogg/web/static/vendor
