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

.PHONY: setup run demo test bench lock clean

setup: $(STAMP)

# The versions that were tested: requirements-dev.lock (the service, PostgreSQL and the
# tests), every file checked against its SHA-256; then the project itself, without
# resolving anything more, and `pip check` to fail if the lock no longer covers
# pyproject.toml (run `make lock` after changing a dependency).
$(STAMP): pyproject.toml requirements-dev.lock $(VENDOR)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
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

# Work out the locks again from pyproject.toml (pip-tools in a venv of its own):
# requirements.lock for a server (the service and PostgreSQL), requirements-dev.lock
# for development and CI (with the tests). Commit both.
LOCK_VENV := .venv-lock
LOCK := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) \
		&& $(LOCK_VENV)/bin/python -m pip install --quiet pip-tools==7.7.0; }
	$(LOCK) --extra postgres --output-file requirements.lock pyproject.toml
	$(LOCK) --extra postgres --extra test --output-file requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) $(LOCK_VENV) build *.egg-info .pytest_cache node_modules stafettlogg/web/static/vendor
