# Every target sets itself up: on a fresh clone `make synth` and `make test` are all you need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
CHECKOV_VENV := .venv-checkov
CHECKOV_INSTALLED := $(CHECKOV_VENV)/.installed-requirements
# main.py writes two stacks: tap-account (once per AWS account and region, shared by every
# environment) and tap-stack (the environment of ENVIRONMENT_SUFFIX). tap-account goes first.
ACCOUNT_STACK_DIR := cdktf.out/stacks/tap-account
ENVIRONMENT_STACK_DIR := cdktf.out/stacks/tap-stack
TERRAFORM ?= terraform
# Passed to `terraform apply` and `terraform destroy`, e.g. TF_APPLY_ARGS=-auto-approve in a pipeline.
TF_APPLY_ARGS ?=

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# No registry access (CI machines): install providers from the local filesystem mirror, unless
# the user already has a Terraform CLI config of their own.
TF_PROVIDER_MIRROR := /opt/tf-plugins
ifneq ($(wildcard $(TF_PROVIDER_MIRROR)),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
export TF_CLI_CONFIG_FILE := $(CURDIR)/tools/terraform-offline.tfrc
endif
endif

.PHONY: help setup synth validate plan deploy destroy destroy-account test snapshot lint demo bench bench-quick mutation docs clean

help: ## List the targets and what each does
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/\1\t\2/' | \
		awk -F'\t' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(INSTALLED) ## Create .venv, install the pinned requirements and the `referrals` CLI (every target does this itself)

# Reinstall only when the pins or the project's metadata change. The project itself is installed
# editable and without dependencies (the pins are all in requirements.txt): it adds the `referrals`
# console script (.venv/bin/referrals) and makes only referrals_cli importable; setuptools' build
# note (*.egg-info) is removed, it is not needed at run time.
$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -rf referral_management.egg-info
	touch $@

synth: setup ## Synthesize cdktf.out/stacks/{tap-account,tap-stack}/cdk.tf.json (configuration from the environment)
	$(PY) main.py
	@echo "synthesized: $(ACCOUNT_STACK_DIR)/cdk.tf.json $(ENVIRONMENT_STACK_DIR)/cdk.tf.json"

validate: synth ## terraform init (no backend) and validate of both stacks; needs no AWS account
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) init -input=false -backend=false
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) validate
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) init -input=false -backend=false
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) validate

plan: synth ## terraform init + plan of tap-account, then tap-stack; each plan saved as plan.tfplan in its stack directory
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) init -input=false
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) plan -input=false -out=plan.tfplan
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) init -input=false
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) plan -input=false -out=plan.tfplan

deploy: synth ## terraform apply of tap-account (a no-op once any environment applied it), then tap-stack
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) init -input=false
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) apply $(TF_APPLY_ARGS)
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) init -input=false
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) apply $(TF_APPLY_ARGS)

destroy: synth ## terraform destroy of tap-stack (this ENVIRONMENT_SUFFIX) only: other environments share tap-account
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) init -input=false
	$(TERRAFORM) -chdir=$(ENVIRONMENT_STACK_DIR) destroy $(TF_APPLY_ARGS)

destroy-account: synth ## terraform destroy of tap-account: after `make destroy` of the account and region's last environment
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) init -input=false
	$(TERRAFORM) -chdir=$(ACCOUNT_STACK_DIR) destroy $(TF_APPLY_ARGS)

test: setup ## Run every test (unit, handlers on moto, stack, terraform validate)
	$(PY) -m pytest

demo: setup ## Deploy both stacks to a local AWS emulator (moto), run signups and a payout, destroy them
	$(PY) tools/demo.py

bench: setup ## Measure synth time, cold start, AWS calls, items read and the test suite: one table + build/bench.json
	$(PY) -m benchmarks

bench-quick: setup ## The benchmark at small sizes, without the test suite (CI runs it so it cannot rot; no timing is asserted)
	$(PY) -m benchmarks --quick

mutation: setup ## Mutation testing of the domain modules (mutmut, one worker, about 24 min; not in CI): score and survivors per module
	$(PY) -m tools.mutation

snapshot: setup ## Accept an intended infrastructure change into the synth snapshot
	$(PY) -m pytest tests/stack --snapshot-update

# docs/resources.md documents the default configuration: synthesize it with no setting at all
# (whatever the shell holds) into a directory of its own, so cdktf.out/ is left alone.
DOCS_SYNTH_DIR := $(CURDIR)/build/docs/cdktf.out

docs: setup ## Regenerate docs/resources.md (resources and outputs) from a synth of the default configuration
	rm -rf $(DOCS_SYNTH_DIR) && mkdir -p $(dir $(DOCS_SYNTH_DIR))
	env -i PATH="$$PATH" HOME="$$HOME" CDKTF_OUTDIR=$(DOCS_SYNTH_DIR) $(PY) main.py
	$(PY) -m tools.docs_reference $(DOCS_SYNTH_DIR)/stacks docs/resources.md

# checkov's own pins clash with boto3/moto, so it lives in a virtualenv of its own.
$(CHECKOV_INSTALLED): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# The default configuration, whatever the shell holds: the settings main.py reads are unset.
LINT_UNSET := $(foreach v,ENVIRONMENT_SUFFIX AWS_REGION STATE_BUCKET STATE_BUCKET_REGION DELETION_PROTECTION LOG_RETENTION_DAYS WAF_ENABLED WAF_RATE_LIMIT API_RATE_LIMIT API_BURST_LIMIT API_QUOTA_PER_DAY LOCAL_AWS_ENDPOINT REWARD_TIERS REWARD_HOLD_DAYS REWARD_QUALIFICATION REVIEW_SHARED_EMAIL REVIEW_BURST_PER_HOUR OPS_ALERT_EMAILS REPORT_READER_ROLE_ARNS OPERATOR_ROLE_ARNS,-u $(v))

lint: setup $(CHECKOV_INSTALLED) ## ruff, mypy, parliament (IAM policies) and checkov on the synthesized Terraform of both stacks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy stacks lambdas main.py tools referrals_cli
	$(VENV)/bin/mypy benchmarks  # on its own: it imports the handlers through tests/ (another module root)
	env $(LINT_UNSET) $(PY) main.py
	$(PY) -m tools.lint_policies $(ACCOUNT_STACK_DIR)/cdk.tf.json $(ENVIRONMENT_STACK_DIR)/cdk.tf.json
	rm -rf build/checkov
	$(PY) -m tools.checkov_input build/checkov $(ENVIRONMENT_STACK_DIR)/cdk.tf.json $(ACCOUNT_STACK_DIR)/cdk.tf.json
	set -o pipefail; BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml \
		--file build/checkov/tap-stack/cdk.tf.json --file build/checkov/tap-account/cdk.tf.json | tee build/checkov/report.txt
	@# checkov exits 0 when it cannot parse a file (and then checks nothing): that is a failure here.
	@! grep -q "Parsing errors" build/checkov/report.txt || (echo "checkov could not parse the synthesized JSON" >&2; exit 1)

clean: ## Remove synth output, build artifacts and tool caches
	rm -rf cdktf.out build .pytest_cache .mypy_cache .ruff_cache
