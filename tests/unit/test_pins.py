"""requirements.txt (pip, CI) and Pipfile (pipenv users) must install the same versions."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([^\s;#]+)")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_pins() -> dict[str, tuple[str, str]]:
    pins = {}
    for raw in (ROOT / "requirements.txt").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = REQUIREMENT.match(line)
        assert match, f"requirements.txt line is not an exact pin: {line!r}"
        pins[_normalized(match[1])] = (match[3], match[2] or "")
    return pins


def pipfile_pins() -> dict[str, tuple[str, str]]:
    pipfile = tomllib.loads((ROOT / "Pipfile").read_text())
    pins = {}
    for section in ("packages", "dev-packages"):
        for name, spec in pipfile[section].items():
            version = spec if isinstance(spec, str) else spec["version"]
            extras = "" if isinstance(spec, str) else "[" + ",".join(spec.get("extras", [])) + "]"
            assert version.startswith("=="), f"Pipfile {name} is not an exact pin: {version}"
            pins[_normalized(name)] = (version[2:], extras if extras != "[]" else "")
    return pins


def test_requirements_and_pipfile_pin_the_same_versions() -> None:
    assert requirements_pins() == pipfile_pins()


def test_provider_bindings_fit_the_mirrored_aws_provider() -> None:
    # cdktf-cdktf-provider-aws 20.x is generated for AWS provider 5.x (5.100.0 is mirrored here);
    # 21.x targets 6.x, which `terraform init` could not install offline.
    assert requirements_pins()["cdktf-cdktf-provider-aws"][0].startswith("20.")
