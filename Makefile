# fedpet — make demo runs a 3-hospital federation, make test runs what CI checks.
SHELL := /bin/bash
NODE ?= node
FEDPET := $(NODE) services/researcher/bin/fedpet.js
DEMO_DIR ?= .fedpet/demo
INSTALLED := node_modules/.fedpet-installed

UNIT_TESTS = $(shell find shared/src services -name '*.test.ts' -not -path '*/node_modules/*' | sort)
INTEGRATION_TESTS = $(shell find test/integration -name '*.test.ts' | sort)
E2E_TESTS = $(shell find test/e2e -name '*.test.ts' | sort)

.PHONY: help install brokers demo services test unit integration e2e lint typecheck format bench clean

help:
	@echo "make demo        run a 3-hospital federated experiment on this machine"
	@echo "make test        lint, type-check, unit, integration and end-to-end tests (what CI runs)"
	@echo "make services    run an aggregator and the demo hospitals' trainers until Ctrl-C"
	@echo "make bench       benchmarks (tables on stdout, JSON in test/bench/results/)"
	@echo "make lint        biome lint/format check and TypeScript type-check"

# npm ci only when the lock file or a manifest changed since the last install.
$(INSTALLED): package-lock.json package.json shared/package.json services/*/package.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALLED)

brokers:
	@bash scripts/ensure-brokers.sh

$(DEMO_DIR)/data/federation.yaml: | $(INSTALLED)
	$(FEDPET) synth --out $(DEMO_DIR)/data

demo: install brokers $(DEMO_DIR)/data/federation.yaml
	$(FEDPET) sandbox --federation $(DEMO_DIR)/data/federation.yaml \
	  --experiment examples/demo/experiment.yaml --out $(DEMO_DIR)/out

services: install brokers $(DEMO_DIR)/data/federation.yaml
	bash scripts/run-services.sh $(DEMO_DIR)/data

typecheck: install
	npx tsc -p tsconfig.json

lint: install typecheck
	npx biome check .

format: install
	npx biome check --write .

unit: install
	$(NODE) --import tsx --test $(UNIT_TESTS)

integration: install brokers
	$(NODE) --import tsx --test --test-concurrency=1 $(INTEGRATION_TESTS)

e2e: install brokers
	$(NODE) --import tsx --test --test-concurrency=1 $(E2E_TESTS)

test: install brokers lint
	$(NODE) --import tsx --test --test-concurrency=1 $(UNIT_TESTS) $(INTEGRATION_TESTS) $(E2E_TESTS)

bench: install brokers
	$(NODE) --import tsx test/bench/run-all.ts

clean:
	rm -rf .fedpet test/bench/results
