# Every target sets itself up: on a fresh clone `make synth` and `make test` are all you need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# No registry access (CI machines): install providers from the local filesystem mirror, unless
# the user already has a Terraform CLI config of their own.
TF_PROVIDER_MIRROR := /opt/tf-plugins
ifneq ($(wildcard $(TF_PROVIDER_MIRROR)),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
export TF_CLI_CONFIG_FILE := $(CURDIR)/tools/terraform-offline.tfrc
endif
endif

.PHONY: setup synth test snapshot lint clean

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

snapshot: setup ## Accept an intended infrastructure change into the synth snapshot
	$(PY) -m pytest tests/stack --snapshot-update

lint: setup ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy stacks lambdas main.py

clean:
	rm -rf cdktf.out build .pytest_cache .mypy_cache .ruff_cache
