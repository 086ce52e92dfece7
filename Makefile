# Vigil: `make run` starts the server on http://localhost:8080, `make test` runs every test,
# `make bench` measures. Each installs what is missing first (scripts/install-deps).

SHELL := /bin/bash
# The toolchain lives in /opt/swift on the machines Vigil is developed on; use it when PATH lacks it.
export PATH := $(if $(wildcard /opt/swift/usr/bin/swift),/opt/swift/usr/bin:,)$(PATH)

.PHONY: deps build run test bench clean

deps:
	@scripts/install-deps

build: deps
	swift build -c release --product vigil

run: build
	.build/release/vigil serve

test: deps
	scripts/test

bench: build
	scripts/bench
	scripts/bench-ingest
	scripts/bench-detect
	scripts/bench-pipeline
	scripts/bench-events
	scripts/bench-live
	scripts/bench-alerts
	scripts/bench-faces
	scripts/bench-ui

clean:
	rm -rf .build
