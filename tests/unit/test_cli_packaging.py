"""The CLI is a client of the deployment: its own package, installed alone, importing no project code."""

import ast
import importlib
import tomllib
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from referrals_cli.app import app

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "referrals_cli"
# The stack, the Lambda code (its zip root's packages) and the local tooling.
FORBIDDEN = {"cdktf", "cdktf_cdktf_provider_aws", "constructs", "stacks", "tools", "lambdas", "referrals"}
FORBIDDEN |= {
    path.name for path in (ROOT / "lambdas").iterdir() if (path / "__init__.py").exists() or path.suffix == ".py"
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_imports_the_stack_the_lambda_code_or_the_tools() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        assert not imported_roots(module) & FORBIDDEN, module.name


def test_the_console_script_and_the_only_installed_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"referrals": "referrals_cli.app:main"}
    assert project["tool"]["setuptools"]["packages"] == ["referrals_cli"]
    module, _, function = project["project"]["scripts"]["referrals"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_commands_and_their_json_option() -> None:
    root = get_command(app)
    commands = {name: getattr(command, "commands", {}) for name, command in root.commands.items()}  # type: ignore[attr-defined]
    assert set(commands) == {
        "status",
        "referrer",
        "review",
        "qualify",
        "approve",
        "reverse",
        "backfill-email-keys",
        "payout",
        "events",
    }
    assert set(commands["payout"]) == {"run", "show", "report"}
    assert set(commands["events"]) == {"redrive"}
    for path in (
        ["status"],
        ["referrer"],
        ["review"],
        ["qualify"],
        ["approve"],
        ["reverse"],
        ["backfill-email-keys"],
        ["payout", "run"],
        ["payout", "show"],
        ["payout", "report"],
        ["events", "redrive"],
    ):
        assert "--json" in CliRunner().invoke(app, [*path, "--help"]).stdout, path
