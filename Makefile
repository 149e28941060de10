# The README's two commands: `make demo` (the quickstart on the embedded emulator) and
# `make test` (every test). Each installs what it needs on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: demo test test-rust contract lint doc emulator codegen bench clean test-python python-wheel demo-python

## demo: run the Rust, Python and Node quickstarts against the embedded emulator (or NAIRI_BASE_URL/NAIRI_API_KEY when set)
# Built first with progress shown (a cold build takes minutes), then run quietly.
demo:
	$(CARGO) build -p nairi --example quickstart
	$(CARGO) run --quiet -p nairi --example quickstart
	$(MAKE) --no-print-directory demo-python
	$(MAKE) --no-print-directory demo-node

## test: every test of the project
test: test-rust contract test-python test-node

# nextest when installed (per-test hang guard from .config/nextest.toml), else cargo test.
test-rust:
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --all-targets; \
	else \
	  $(CARGO) test --workspace --all-targets; \
	fi
	$(CARGO) test --workspace --doc

## contract: the emulator checked against spec/openapi.yaml with schemathesis
contract:
	scripts/contract-check.sh

## lint: formatting, clippy and docs without warnings
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

## codegen: write spec/surface.json, spec/emulator.json and the README's API table from the core and the emulator (the tests of
## crates/nairi-surface fail while a committed generated file is stale)
codegen:
	$(CARGO) run --quiet -p nairi-surface
	$(PYTHON) python/codegen.py
	$(MAKE) --no-print-directory codegen-node

## bench: the SDK against each language's plain HTTP client on one emulator process (release
## builds, a few minutes); BENCH_QUICK=1 for a one-minute subset. Writes bench/results/latest.md.
bench:
	bench/run.sh

## emulator: run the emulator on port 8080 with human-scale timings
emulator:
	$(CARGO) run --quiet -p nairi-emulator -- --port 8080

clean:
	$(CARGO) clean

# ---- Python package (python/, bindings/python) -------------------------------------------
# The wheel is built once per run (dev profile, abi3, the workspace's target/ so the core is
# not rebuilt), installed into a fresh venv under target/, and the tests run against that
# install, never against the source tree.
PYTHON ?= python3
PY_TOOLS := target/py-tools
PY_TEST := target/py-test
PY_WHEELS := target/wheels/python
PY_PROFILE ?= dev

$(PY_TOOLS)/.ok:
	$(PYTHON) -m venv $(PY_TOOLS)
	$(PY_TOOLS)/bin/pip install --quiet --disable-pip-version-check "maturin>=1.16,<2"
	touch $@

## python-wheel: build the abi3 wheel of the Python package into target/wheels/python
python-wheel: $(PY_TOOLS)/.ok
	rm -rf $(PY_WHEELS)
	cd python && CARGO_TARGET_DIR=$(CURDIR)/target ../$(PY_TOOLS)/bin/maturin build --quiet \
	  --profile $(PY_PROFILE) --out ../$(PY_WHEELS)

$(PY_TEST)/.ok: python-wheel
	rm -rf $(PY_TEST)
	$(PYTHON) -m venv $(PY_TEST)
	$(PY_TEST)/bin/pip install --quiet --disable-pip-version-check $(PY_WHEELS)/*.whl \
	  "pytest>=8" "pytest-asyncio>=0.24" "pytest-timeout>=2.3" "mypy>=1.10" typing_extensions
	touch $@

## test-python: codegen drift, then pytest, stubtest and mypy --strict against the installed wheel
test-python:
	$(PYTHON) python/codegen.py --check
	rm -f $(PY_TEST)/.ok
	$(MAKE) --no-print-directory $(PY_TEST)/.ok
	cd python && ../$(PY_TEST)/bin/python -m pytest -q -p no:cacheprovider tests
	cd /tmp && $(CURDIR)/$(PY_TEST)/bin/python -m mypy.stubtest nairi._native
	cd /tmp && $(CURDIR)/$(PY_TEST)/bin/python -m mypy --strict --no-incremental \
	  $(CURDIR)/python/tests/typing_check.py $(CURDIR)/examples/python/quickstart.py

## demo-python: the Python quickstart (installs the package into target/py-test first)
demo-python:
	if [ ! -f $(PY_TEST)/.ok ]; then $(MAKE) --no-print-directory $(PY_TEST)/.ok; fi
	$(PY_TEST)/bin/python examples/python/quickstart.py
# ---------------------------------------------------------------------------------------------
# Node package (node/, addon in bindings/node). npm installs the dev tools (the napi CLI,
# TypeScript, publint, attw) from node/package-lock.json; the addon is built once per run
# into the workspace's target/ (debug: the tests need no release build).
.PHONY: node-deps node-build test-node demo-node codegen-node
NPM ?= npm
NODE_TARGET_DIR ?= $(CURDIR)/target

node/node_modules/.deps-stamp: node/package.json node/package-lock.json
	cd node && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

node-deps: node/node_modules/.deps-stamp

## node-build: the addon (napi build, debug), the TypeScript facade and its ESM wrappers
node-build: node-deps
	cd node && CARGO_TARGET_DIR=$(NODE_TARGET_DIR) $(NPM) run --silent build

## codegen-node: node/src/generated/ from spec/surface.json and spec/emulator.json
codegen-node:
	cd node && node scripts/generate.mjs

## test-node: drift check, node --test (scenarios included; on the event loop, then on workers),
## the type test, publint and attw
test-node: node-build
	cd node && node scripts/generate.mjs --check
	cd node && node --test --test-timeout=120000 --test-reporter=spec test/*.test.mjs
	@# Again with the calls on tokio workers (NAIRI_NODE_IO=threads, the path off Linux).
	cd node && NAIRI_NODE_IO=threads node --test --test-timeout=120000 --test-reporter=spec \
	  $$(ls test/*.test.mjs | grep -v package.test.mjs)
	cd node && $(NPM) run --silent test:types
	cd node && $(NPM) run --silent lint:package

## demo-node: the Node quickstart (examples/node/quickstart.mjs)
demo-node: node-build
	cd examples/node && $(NPM) install --no-audit --no-fund --offline --loglevel=error
	node examples/node/quickstart.mjs
