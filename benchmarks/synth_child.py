"""Child process of the synthesis benchmark: `python -m benchmarks.synth_child VARIANT [--phases]`.

VARIANT selects how much of stacks/provider_import.py's trick is used, so "before" and "after"
are measured with the same code: `stock` skips nothing (what a plain `import` does), `python-skip`
skips only the Python package's __init__ (the state before the Node half existed), `current` is
main.py as shipped. Without --phases it runs main.py itself; with --phases it performs main.py's
steps with a timestamp after each and prints them as JSON (seconds since the process started,
taken from BENCH_SPAWN_EPOCH, the parent's clock just before it started this process).
"""

import argparse
import json
import os
import runpy
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from benchmarks.paths import PROJECT_ROOT

MAIN = PROJECT_ROOT / "main.py"
STACK_NAME = "tap-stack"
VARIANTS = ("stock", "python-skip", "current")
CONSTRUCT_BUILDING = "construct building"


def apply_variant(variant: str) -> None:
    from stacks import provider_import  # noqa: PLC0415 - patched before main.py imports from it

    replacements: dict[str, Callable[[], None]] = {
        "stock": lambda: None,
        "python-skip": provider_import.skip_python_package_init,
    }
    if variant in replacements:
        provider_import.skip_provider_package_init = replacements[variant]  # type: ignore[assignment]


def phases(spawned_at: float) -> dict[str, dict[str, float]]:
    """main.py's steps, each timed, and the part of construct building spent zipping the Lambda code.

    Every import is inside: its cost is what we measure.
    """
    marks = {"interpreter start": time.time() - spawned_at}
    last = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        marks[name] = now - last
        last = now

    from stacks.config import StackConfig  # noqa: PLC0415
    from stacks.provider_import import skip_provider_package_init  # noqa: PLC0415

    config = StackConfig.from_env(os.environ)
    skip_provider_package_init()
    from cdktf import App  # noqa: PLC0415

    mark("import cdktf (jsii kernel, Node, cdktf assembly)")
    import cdktf_cdktf_provider_aws._jsii  # noqa: F401, PLC0415

    mark("provider assembly (+ package __init__ when not skipped)")
    from stacks import functions  # noqa: PLC0415
    from stacks.tap_stack import TapStack  # noqa: PLC0415

    mark("provider submodules and stack modules")
    app = App()
    with _timed(functions, "build_lambda_zip") as zips:
        TapStack(app, STACK_NAME, config)
    mark(CONSTRUCT_BUILDING)
    app.synth()
    mark("synth (write cdktf.out)")
    return {"phases": marks, "parts": {"Lambda zips": zips()}}


@contextmanager
def _timed(module: object, name: str) -> Iterator[Callable[[], float]]:
    """Replaces module.name by a wrapper that adds up the time spent in it."""
    original = getattr(module, name)
    spent = [0.0]

    def timed(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    setattr(module, name, timed)
    try:
        yield lambda: spent[0]
    finally:
        setattr(module, name, original)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--phases", action="store_true")
    args = parser.parse_args()
    apply_variant(args.variant)
    if args.phases:
        print(json.dumps(phases(float(os.environ["BENCH_SPAWN_EPOCH"]))))
        return
    sys.argv = [str(MAIN)]
    runpy.run_path(str(MAIN), run_name="__main__")


if __name__ == "__main__":
    main()
