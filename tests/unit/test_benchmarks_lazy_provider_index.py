"""The Node half of stacks/provider_import.py, which `python -m benchmarks` measures.

A stand-in package: its index is answered lazily when it is made only of `exports.x =
require("./x")` lines, and loaded as usual otherwise.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stacks.provider_import import kernel_node_options, write_node_hook

NODE = shutil.which("node")
PACKAGE = "@cdktf/provider-aws"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

# Each submodule records that it was loaded.
SUBMODULE = 'globalThis.loaded = [...(globalThis.loaded || []), "{name}"]; exports.{cls} = class {cls} {{}};\n'
# Requires the package index, then reads one class through it, as jsii's kernel does.
PROBE = """
const index = require(process.argv[1]);
const before = [...(globalThis.loaded || [])];
const found = typeof index.alpha.Alpha;
console.log(JSON.stringify({before, found, after: globalThis.loaded, keys: Object.keys(index)}));
"""


def _package(root: Path, name: str, index_extra: str = "") -> Path:
    package = root / "node_modules" / name
    (package / "lib").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": name, "main": "lib/index.js"}))
    lines = ['"use strict";', 'Object.defineProperty(exports, "__esModule", { value: true });']
    for sub, cls in (("alpha", "Alpha"), ("beta", "Beta")):
        (package / "lib" / sub).mkdir()
        (package / "lib" / sub / "index.js").write_text(SUBMODULE.format(name=sub, cls=cls))
        lines.append(f'exports.{sub} = require("./{sub}");')
    (package / "lib" / "index.js").write_text("\n".join(lines) + "\n" + index_extra)
    return package / "lib" / "index.js"


def _probe(tmp_path: Path, index: Path) -> dict:
    hook = write_node_hook(tmp_path, PACKAGE)
    assert NODE is not None
    result = subprocess.run(
        [NODE, "--require", str(hook), "-e", PROBE, str(index)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_the_index_loads_only_the_submodules_that_are_read(tmp_path: Path) -> None:
    seen = _probe(tmp_path, _package(tmp_path, PACKAGE))

    assert seen == {"before": [], "found": "function", "after": ["alpha"], "keys": ["alpha", "beta"]}


def test_an_index_with_anything_else_in_it_loads_as_usual(tmp_path: Path) -> None:
    index = _package(tmp_path, PACKAGE, index_extra='require("./beta").sideEffect = true;\n')

    assert _probe(tmp_path, index)["before"] == ["alpha", "beta"]


def test_other_packages_load_as_usual(tmp_path: Path) -> None:
    assert _probe(tmp_path, _package(tmp_path, "@cdktf/provider-other"))["before"] == ["alpha", "beta"]


def test_a_cached_package_jsii_has_not_indexed_yet_loads_as_usual(tmp_path: Path) -> None:
    """jsii indexes it in a worker that dies with the process: the usual, slower load leaves it time."""
    index = _package(tmp_path, PACKAGE)
    (index.parent.parent / ".jsii-runtime-package-cache").touch()
    assert _probe(tmp_path, index)["before"] == ["alpha", "beta"]

    (index.parent.parent / ".jsii.runtime-index.v1").touch()
    assert _probe(tmp_path, index)["before"] == []


def test_kernel_options_put_our_v8_flags_first_so_the_users_own_win(tmp_path: Path) -> None:
    hook = tmp_path / "lazy_index.cjs"
    assert kernel_node_options(None, hook) == f'--max-semi-space-size=1 --require "{hook}"'
    mine = "--max-semi-space-size=8 --trace-warnings"
    assert kernel_node_options(mine, hook) == f'--max-semi-space-size=1 {mine} --require "{hook}"'


def test_node_accepts_the_kernel_options(tmp_path: Path) -> None:
    hook = write_node_hook(tmp_path)
    options = kernel_node_options(None, hook)
    run = subprocess.run(
        [str(NODE), "-e", "console.log('ok')"],
        env={"NODE_OPTIONS": options, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr
