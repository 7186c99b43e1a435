"""Where the project's parts are, for the benchmark and the child processes it starts."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_ROOT / "lambdas"  # the Lambda zip root: handlers import `referrals` from there
# As pyproject.toml gives pytest: the project root and the Lambda zip root.
IMPORT_PATHS = (str(PROJECT_ROOT), str(LAMBDAS_DIR))
PYTHONPATH = os.pathsep.join(IMPORT_PATHS)
