#!/usr/bin/env python
"""Synthesize the referral management stacks into cdktf.out/ (configuration from the environment).

tap-stack is one environment (ENVIRONMENT_SUFFIX); tap-account holds what exists once per AWS
account and region, shared by every environment there (stacks/account_stack.py).
"""

import os
import sys

from stacks.config import ConfigError, StackConfig

STACK_NAME = "tap-stack"


def main() -> int:
    # Validate before importing cdktf: a bad value fails fast and writes nothing to cdktf.out.
    try:
        config = StackConfig.from_env(os.environ)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from stacks.provider_import import skip_provider_package_init

    skip_provider_package_init()
    from cdktf import App

    from stacks.account_stack import ACCOUNT_STACK_NAME, AccountStack
    from stacks.tap_stack import TapStack

    app = App()
    account = AccountStack(app, ACCOUNT_STACK_NAME, config)
    environment = TapStack(app, STACK_NAME, config)
    environment.add_dependency(account)  # `cdktf deploy` applies the account settings first
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
