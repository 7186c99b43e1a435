# Every target sets itself up: on a fresh clone `make synth` and `make test` are all you need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
CHECKOV_VENV := .venv-checkov
CHECKOV_INSTALLED := $(CHECKOV_VENV)/.installed-requirements
SYNTH_JSON := cdktf.out/stacks/tap-stack/cdk.tf.json

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# No registry access (CI machines): install providers from the local filesystem mirror, unless
# the user already has a Terraform CLI config of their own.
TF_PROVIDER_MIRROR := /opt/tf-plugins
ifneq ($(wildcard $(TF_PROVIDER_MIRROR)),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
export TF_CLI_CONFIG_FILE := $(CURDIR)/tools/terraform-offline.tfrc
endif
endif

.PHONY: setup synth test snapshot lint demo bench bench-quick clean

setup: $(INSTALLED)

# Reinstall only when the pins change.
$(INSTALLED): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

synth: setup ## Synthesize cdktf.out/stacks/tap-stack/cdk.tf.json (configuration from the environment)
	$(PY) main.py
	@echo "synthesized: cdktf.out/stacks/tap-stack/cdk.tf.json"

test: setup ## Run every test (unit, handlers on moto, stack, terraform validate)
	$(PY) -m pytest

demo: setup ## Deploy the stack to a local AWS emulator (moto), run signups and a payout, destroy it
	$(PY) tools/demo.py

bench: setup ## Measure synth time, cold start, AWS calls, items read and the test suite: one table + build/bench.json
	$(PY) -m benchmarks

bench-quick: setup ## The benchmark at small sizes, without the test suite (CI runs it so it cannot rot; no timing is asserted)
	$(PY) -m benchmarks --quick

snapshot: setup ## Accept an intended infrastructure change into the synth snapshot
	$(PY) -m pytest tests/stack --snapshot-update

# checkov's own pins clash with boto3/moto, so it lives in a virtualenv of its own.
$(CHECKOV_INSTALLED): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

lint: setup $(CHECKOV_INSTALLED) ## ruff, mypy, and checkov on the synthesized Terraform (default configuration)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy stacks lambdas main.py tools
	$(VENV)/bin/mypy benchmarks  # on its own: it imports the handlers through tests/ (another module root)
	env -u ENVIRONMENT_SUFFIX -u AWS_REGION -u STATE_BUCKET -u WAF_ENABLED -u LOCAL_AWS_ENDPOINT $(PY) main.py
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file $(SYNTH_JSON)

clean:
	rm -rf cdktf.out build .pytest_cache .mypy_cache .ruff_cache
