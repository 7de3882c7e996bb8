# fedpet — make demo runs a 3-hospital federation, make test runs what CI checks.
SHELL := /bin/bash
NODE ?= node
FEDPET := $(NODE) services/researcher/bin/fedpet.js
DEMO_DIR ?= .fedpet/demo
INSTALLED := node_modules/.fedpet-installed

UNIT_TESTS = $(shell find shared/src services -name '*.test.ts' -not -path '*/node_modules/*' | sort)
INTEGRATION_TESTS = $(shell find test/integration -name '*.test.ts' | sort)
E2E_TESTS = $(shell find test/e2e -name '*.test.ts' | sort)

.PHONY: help install brokers tools demo services test unit integration e2e lint typecheck format bench chaos clean

help:
	@echo "make demo        a 3-hospital federated PET-CT experiment on this machine (synthetic DICOM)"
	@echo "make test        lint, type-check, unit, integration and end-to-end tests (what CI runs)"
	@echo "make services    run an aggregator and the demo hospitals' trainers until Ctrl-C"
	@echo "make bench       benchmarks (tables on stdout, JSON in test/bench/results/)"
	@echo "make chaos       fault injection on the real brokers: kills, broker restarts, duplicates, slow/down hospitals"
	@echo "                 (CHAOS_ARGS=\"--runs 2 --only trainer-kill,duplicates --seed 1 --keep\"; JSON in test/chaos/results/)"
	@echo "make lint        biome lint/format check and TypeScript type-check"

# npm ci only when the lock file or a manifest changed since the last install.
$(INSTALLED): package-lock.json package.json shared/package.json services/*/package.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALLED)

brokers:
	@bash scripts/ensure-brokers.sh

tools:
	@bash scripts/ensure-tools.sh

DEMO_DATA := $(DEMO_DIR)/pet-data

# The synthetic PET-CT cohort is generated once (federation.yaml is written
# last, so an interrupted run is redone); each hospital's preprocessing cache
# lives beside it in .trainer-data/.
$(DEMO_DATA)/federation.yaml: | $(INSTALLED)
	$(FEDPET) synth --out $(DEMO_DATA) --hospitals 3 --patients 30-60 --seed 7

demo: install brokers $(DEMO_DATA)/federation.yaml
	$(FEDPET) sandbox --federation $(DEMO_DATA)/federation.yaml \
	  --experiment examples/demo/experiment.yaml --out $(DEMO_DIR)/out

services: install brokers $(DEMO_DATA)/federation.yaml
	bash scripts/run-services.sh $(DEMO_DATA)

typecheck: install
	npx tsc -p tsconfig.json

lint: install typecheck
	npx biome check .

format: install
	npx biome check --write .

unit: install
	$(NODE) --import tsx --test $(UNIT_TESTS)

integration: install brokers tools
	$(NODE) --import tsx --test --test-concurrency=1 $(INTEGRATION_TESTS)

e2e: install brokers
	$(NODE) --import tsx --test --test-concurrency=1 $(E2E_TESTS)

test: install brokers tools lint
	$(NODE) --import tsx --test --test-concurrency=1 $(UNIT_TESTS) $(INTEGRATION_TESTS) $(E2E_TESTS)

bench: install brokers tools
	$(NODE) --import tsx test/bench/run-all.ts

chaos: install brokers
	$(NODE) --import tsx test/chaos/run-chaos.ts $(CHAOS_ARGS)

# Optional: the PyTorch peer of the training bench (docs/performance.md), in a git-ignored virtualenv.
.PHONY: bench-peer-setup
bench-peer-setup:
	python3 -m venv .venv-torch
	.venv-torch/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu

clean:
	rm -rf .fedpet test/bench/results
