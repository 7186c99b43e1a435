"""Import the AWS provider bindings without running the package's __init__.

`cdktf_cdktf_provider_aws/__init__.py` imports all ~2,140 resource submodules (about 24,000
classes) whenever any one of them is imported: ~7 s of CPU for the ~20 we use. Registering a
bare module object for the package (its __path__ and __spec__ from find_spec, not executed) lets
Python import just the submodules we name. Each submodule loads the shared jsii assembly
itself (`from .._jsii import *`), so the synthesized output is byte-identical.

main.py and the tests call `skip_provider_package_init()` before importing the stack.
"""

import importlib.util
import sys

PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"


def skip_provider_package_init(package: str = PROVIDER_PACKAGE) -> None:
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"{package} is not installed; run `make setup`")
    sys.modules[package] = importlib.util.module_from_spec(spec)
