"""The facts a reader needs to compare two benchmark runs: cores, versions, load, time."""

import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def machine_facts() -> dict:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "node": _node_version(),
        "platform": platform.platform(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": load_average(),
    }


def _node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
