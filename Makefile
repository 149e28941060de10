# The README's two commands: `make demo` (the quickstart on the embedded emulator) and
# `make test` (every test). Each installs what it needs on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: demo test test-rust contract lint doc emulator codegen bench clean

## demo: run the Rust quickstart against the embedded emulator (or NAIRI_BASE_URL/NAIRI_API_KEY when set)
# Built first with progress shown (a cold build takes minutes), then run quietly.
demo:
	$(CARGO) build -p nairi --example quickstart
	$(CARGO) run --quiet -p nairi --example quickstart

## test: every test of the project
test: test-rust contract

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

## bench: the SDK against each language's plain HTTP client on one emulator process (release
## builds, a few minutes); BENCH_QUICK=1 for a one-minute subset. Writes bench/results/latest.md.
bench:
	bench/run.sh

## emulator: run the emulator on port 8080 with human-scale timings
emulator:
	$(CARGO) run --quiet -p nairi-emulator -- --port 8080

clean:
	$(CARGO) clean
