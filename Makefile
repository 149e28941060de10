# The README's two commands: `make demo` (the quickstart on the embedded emulator) and
# `make test` (every test). Each installs what it needs on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: demo test test-rust contract lint doc emulator codegen clean

## demo: run the Rust and Node quickstarts against the embedded emulator (or NAIRI_BASE_URL/NAIRI_API_KEY when set)
# Built first with progress shown (a cold build takes minutes), then run quietly.
demo:
	$(CARGO) build -p nairi --example quickstart
	$(CARGO) run --quiet -p nairi --example quickstart
	$(MAKE) --no-print-directory demo-node

## test: every test of the project
test: test-rust contract test-node

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

## codegen: write spec/surface.json and the README's API table from the core (the tests of
## crates/nairi-surface fail while a committed generated file is stale)
codegen:
	$(CARGO) run --quiet -p nairi-surface
	$(MAKE) --no-print-directory codegen-node

## emulator: run the emulator on port 8080 with human-scale timings
emulator:
	$(CARGO) run --quiet -p nairi-emulator -- --port 8080

clean:
	$(CARGO) clean

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

## codegen-node: node/src/generated/ from spec/surface.json
codegen-node:
	cd node && node scripts/generate.mjs

## test-node: drift check, node --test (scenarios included), the type test, publint and attw
test-node: node-build
	cd node && node scripts/generate.mjs --check
	cd node && node --test --test-timeout=120000 --test-reporter=spec test/
	cd node && $(NPM) run --silent test:types
	cd node && $(NPM) run --silent lint:package

## demo-node: the Node quickstart (examples/node/quickstart.mjs)
demo-node: node-build
	cd examples/node && $(NPM) install --no-audit --no-fund --offline --loglevel=error
	node examples/node/quickstart.mjs
