"""Load the AWS provider bindings without running the provider package's index, on both sides.

The provider package imports all ~2,140 resource modules from its index whenever any one of them
is used, and it does so twice, once per language:
- Python: `cdktf_cdktf_provider_aws/__init__.py` imports every submodule (about 24,000 classes,
  ~7 s of CPU). Registering a bare module object for the package (its __path__ and __spec__
  from find_spec, not executed) lets Python import just the submodules the stack names.
- Node: jsii's kernel loads the assembly with `require()` of the npm package, whose
  `lib/index.js` is 2,135 lines of `exports.x = require("./x")`: V8 reads and compiles 173 MB of
  JavaScript (~3 s) for the ~20 resources we use. A `--require` hook in the kernel's Node
  process (NODE_HOOK below) answers that one `require` with an object whose properties require
  each submodule when first read, which is how the kernel reaches a class
  (`exports.s3Bucket.S3Bucket`). If the index is not made only of such lines, or while jsii has
  yet to index a freshly cached assembly (the first run after installing), the hook steps aside
  and Node loads it as usual.

Neither changes what is synthesized (tests/stack/test_main.py compares the bytes); each only
skips loading code the stack never uses (`make bench` checks that the three ways write the same
bytes). A cold `python main.py` on the project's 2-core machines: 19-20 s with neither,
4.6-5.7 s with the Python half, 1.9-2.4 s with both (`make bench`).

main.py and the tests call `skip_provider_package_init()` before anything imports cdktf: it
starts the jsii kernel itself, so the hook is in place when the kernel's Node process starts.
"""

import atexit
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"
PROVIDER_NPM_PACKAGE = "@cdktf/provider-aws"
# The kernel's heap is mostly long-lived (the assemblies it loads), so V8's default young
# generation (16 MiB semi-spaces) only adds RSS: 1 MiB semi-spaces took the peak of Python and
# Node together from 261 to 224 MiB with no slower synth (`make bench`). A setting of the user's
# own in NODE_OPTIONS comes later and wins.
KERNEL_V8_FLAGS = "--max-semi-space-size=1"

# Loaded into the kernel's Node process with --require; __PACKAGE__ is the npm package name.
NODE_HOOK = """\
"use strict";
// Written by stacks/provider_import.py (see there for why): answers require() of one package's
// lib/index.js with an object that requires each submodule on first use.
const Module = require("module");
const fs = require("fs");
const path = require("path");
const PACKAGE = __PACKAGE__;
const EXPORT_LINE = /^exports\\.([A-Za-z_$][\\w$]*) = require\\("(\\.\\/[^"]+)"\\);$/gm;
// jsii's kernel indexes a newly cached assembly in a worker thread, which dies with the process.
// Until the index is written, the package loads as usual: that slower load gives the worker the
// time it always had, so the first run after installing builds the index and later runs are fast.
const CACHED_MARKER = ".jsii-runtime-package-cache";
const RUNTIME_INDEX = ".jsii.runtime-index.v1";
const load = Module._load;
const answerLazily = new Map();

function isIndexToAnswer(filename) {
  if (!answerLazily.has(filename)) {
    const root = path.dirname(path.dirname(filename));
    answerLazily.set(filename, path.isAbsolute(filename) && isIndexOf(root, filename) && !beingIndexed(root));
  }
  return answerLazily.get(filename);
}

function isIndexOf(root, filename) {
  if (path.relative(root, filename) !== path.join("lib", "index.js")) return false;
  try {
    return JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).name === PACKAGE;
  } catch {
    return false;
  }
}

function beingIndexed(root) {
  return fs.existsSync(path.join(root, CACHED_MARKER)) && !fs.existsSync(path.join(root, RUNTIME_INDEX));
}

function lazyIndex(filename, parent) {
  const source = fs.readFileSync(filename, "utf8");
  const entries = [...source.matchAll(EXPORT_LINE)];
  // Anything besides these lines (other code, other requires) could matter: load it as usual.
  if (entries.length === 0 || entries.length !== source.split("require(").length - 1) return undefined;
  const index = new Module(filename, parent);
  index.filename = filename;
  index.paths = Module._nodeModulePaths(path.dirname(filename));
  const exports = {};
  Object.defineProperty(exports, "__esModule", { value: true });  // as the compiled index has it
  for (const [, name, relative] of entries) {
    Object.defineProperty(exports, name, {
      enumerable: true,
      configurable: true,
      get() {
        const value = index.require(relative);
        Object.defineProperty(exports, name, { value, enumerable: true, writable: true, configurable: true });
        return value;
      },
    });
  }
  index.exports = exports;
  index.loaded = true;
  Module._cache[filename] = index;
  return exports;
}

Module._load = function (request, parent, isMain) {
  const filename = Module._resolveFilename(request, parent, isMain);
  if (!Module._cache[filename] && isIndexToAnswer(filename)) {
    const exports = lazyIndex(filename, parent);
    if (exports !== undefined) return exports;
  }
  return load.apply(this, arguments);
};
"""


def skip_provider_package_init(package: str = PROVIDER_PACKAGE, npm_package: str = PROVIDER_NPM_PACKAGE) -> None:
    skip_python_package_init(package)
    start_kernel_with_lazy_index(npm_package)


def skip_python_package_init(package: str = PROVIDER_PACKAGE) -> None:
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"{package} is not installed; run `make setup`")
    sys.modules[package] = importlib.util.module_from_spec(spec)


def start_kernel_with_lazy_index(npm_package: str = PROVIDER_NPM_PACKAGE) -> None:
    """Start jsii's Node process with NODE_HOOK loaded; a no-op if the kernel already runs."""
    if "constructs" in sys.modules:
        return  # the kernel started without the hook: everything still works, only slower
    # The hook must outlive the kernel: Node loads it again in each worker thread, and the kernel
    # starts one to index a new assembly. Registered before the kernel's own atexit stop, so it
    # runs after it (atexit is last in, first out).
    directory = Path(tempfile.mkdtemp(prefix="lazy-provider-index-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    hook = write_node_hook(directory, npm_package)
    previous = os.environ.get("NODE_OPTIONS")
    # The kernel's process inherits our environment; only it needs the hook.
    os.environ["NODE_OPTIONS"] = kernel_node_options(previous, hook)
    try:
        import constructs  # noqa: F401, PLC0415 - loading its assembly starts the kernel
    finally:
        if previous is None:
            del os.environ["NODE_OPTIONS"]
        else:
            os.environ["NODE_OPTIONS"] = previous


def kernel_node_options(previous: str | None, hook: Path) -> str:
    """NODE_OPTIONS for the kernel's process: our V8 flags, then the user's options, then the hook."""
    return " ".join(part for part in (KERNEL_V8_FLAGS, previous, f'--require "{hook}"') if part)


def write_node_hook(directory: Path, npm_package: str = PROVIDER_NPM_PACKAGE) -> Path:
    hook = directory / "lazy_index.cjs"
    hook.write_text(NODE_HOOK.replace("__PACKAGE__", json.dumps(npm_package)))
    return hook
