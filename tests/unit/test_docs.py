"""The handbook stays true to the tree: every relative link of the README and docs/ resolves
(anchors included, as GitHub makes them), every `make` target the docs name exists, the
configuration reference lists exactly the settings stacks/config.py reads, and the example CI
workflow has the shape docs/deploy.md describes."""

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from stacks.config import StackConfig

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
WORKFLOW = ROOT / "examples" / "github-actions" / "referrals.yml"
CONFIG_SOURCE = ROOT / "stacks" / "config.py"

FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
MAKE_TARGET_USE = re.compile(r"(?<![\w./-])make[ \t]+(?P<target>[a-z][a-z0-9-]*)")
MAKEFILE_TARGET = re.compile(r"^(?P<target>[a-z][a-z0-9-]*):", re.MULTILINE)
SETTING_HEADING = re.compile(r"^### `(?P<name>[A-Z][A-Z0-9_]*)`$", re.MULTILINE)
TABLE_SETTING = re.compile(r"^\| `(?P<name>[A-Z][A-Z0-9_]*)` \|", re.MULTILINE)


# Markdown as GitHub renders it --------------------------------------------------------------------


def prose(markdown: str) -> str:
    """The text outside fenced code blocks and inline code (links there are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", markdown))


def code(markdown: str) -> Iterator[str]:
    """Fenced blocks and inline code spans: where commands are written."""
    for block in FENCE.finditer(markdown):
        yield block.group(0)
    for span in INLINE_CODE.finditer(FENCE.sub("", markdown)):
        yield span.group(0)


def github_slug(title: str) -> str:
    """The anchor GitHub gives a heading: formatting and punctuation dropped, spaces to hyphens."""
    text = LINK.sub(lambda m: m["text"], title).replace("`", "")
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in HEADING.finditer(FENCE.sub("", markdown)):
        slug = github_slug(match["title"])
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    """Each relative link of the page whose file or anchor does not exist."""
    problems = []
    for match in LINK.finditer(prose(page.read_text())):
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            problems.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
            problems.append(f"{target}: no heading with the anchor #{anchor} in {linked.name}")
    return problems


def test_the_helpers_read_markdown_as_github_does(tmp_path: Path) -> None:
    assert github_slug("Redriving the relay's DLQ") == "redriving-the-relays-dlq"
    assert github_slug("`REWARD_TIERS`") == "reward_tiers"
    assert github_slug("With make (plain Terraform, laptop or CI)") == "with-make-plain-terraform-laptop-or-ci"
    assert github_slug("parliament: IAM policy lint and its waivers") == "parliament-iam-policy-lint-and-its-waivers"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n[ok](#title) [gone](#nothing) [file](missing.md) [web](https://example.com)\n"
        "`[code](missing-too.md)`\n```\n[block](missing-three.md)\n```\n"
    )
    assert broken_links(page) == [
        "#nothing: no heading with the anchor #nothing in page.md",
        "missing.md: no such file",
    ]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    assert not broken_links(page)


def test_the_handbook_has_its_pages() -> None:
    names = {page.name for page in (ROOT / "docs").glob("*.md")}
    expected = {"index.md", "getting-started.md", "deploy.md", "configuration.md", "api.md", "operations.md"}
    expected |= {"design.md", "security.md", "performance.md", "resources.md", "troubleshooting.md", "cost.md"}
    assert expected <= names
    index = (ROOT / "docs" / "index.md").read_text()
    unlinked = sorted(name for name in names - {"index.md"} if f"]({name})" not in index)
    assert not unlinked, f"docs/index.md links no {unlinked}"


def test_the_readme_stays_a_short_handbook() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    # About 150-250 lines (issue 17); the reward lifecycle's section and four settings take it a little over.
    assert 150 <= len(lines) <= 265
    # .ci/run runs the README's test command; they must stay the same.
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert any(line.startswith("make test ") for line in lines)


# make targets -------------------------------------------------------------------------------------


def makefile_targets() -> set[str]:
    return set(MAKEFILE_TARGET.findall((ROOT / "Makefile").read_text()))


def make_targets_named(text: str) -> set[str]:
    return {match["target"] for match in MAKE_TARGET_USE.finditer(text)}


def test_make_targets_are_found_in_commands() -> None:
    assert make_targets_named("make synth   # and then\nmake test TF_APPLY_ARGS=x") == {"synth", "test"}
    assert make_targets_named("cmake build; automake it") == set()
    listed = "1. Deploy:\n\n   ```bash\n   make deploy\n   ```\n"
    assert {t for block in code(listed) for t in make_targets_named(block)} == {"deploy"}
    assert {"synth", "test", "docs", "help"} <= makefile_targets()


@pytest.mark.parametrize("page", [*PAGES, WORKFLOW], ids=[str(p.relative_to(ROOT)) for p in [*PAGES, WORKFLOW]])
def test_every_make_target_the_docs_name_exists(page: Path) -> None:
    text = page.read_text()
    commands = text if page.suffix == ".yml" else "\n".join(code(text))
    assert not make_targets_named(commands) - makefile_targets()


# The configuration reference ----------------------------------------------------------------------


class ReadRecorder(Mapping[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def settings_read_at_run_time() -> set[str]:
    environment = ReadRecorder()
    StackConfig.from_env(environment)
    return environment.asked


def settings_named_in_config_source(source: str) -> set[str]:
    """Variable names stacks/config.py reads: `env.get("X")`, `env["X"]`, a helper given `env`
    and "X", and the keys of a module-level dict whose names a loop hands to such a helper."""
    tree = ast.parse(source)
    dicts = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    names: set[str] = set()

    def passes_env(call: ast.Call) -> bool:
        reads_env = isinstance(call.func, ast.Attribute) and _is_env(call.func.value) and call.func.attr == "get"
        return reads_env or any(_is_env(argument) for argument in call.args)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and passes_env(node) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
        if isinstance(node, ast.Subscript) and _is_env(node.value) and isinstance(node.slice, ast.Constant):
            names.add(str(node.slice.value))
        if isinstance(node, ast.comprehension | ast.For) and isinstance(node.iter, ast.Name):
            mapping = dicts.get(node.iter.id)
            if mapping is not None and isinstance(node.target, ast.Name):
                loop_name = node.target.id
                scope = ast.walk(node if isinstance(node, ast.For) else _comprehension_of(tree, node))
                if any(
                    isinstance(call, ast.Call)
                    and passes_env(call)
                    and any(isinstance(a, ast.Name) and a.id == loop_name for a in call.args)
                    for call in scope
                ):
                    names |= {k.value for k in mapping.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return names


def _is_env(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "env"


def _comprehension_of(tree: ast.AST, generator: ast.comprehension) -> ast.AST:
    return next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp)
        and generator in node.generators
    )


def test_the_source_parser_finds_every_setting_read() -> None:
    # The two ways of finding the settings agree, so neither misses a way config.py reads one.
    assert settings_named_in_config_source(CONFIG_SOURCE.read_text()) == settings_read_at_run_time()
    assert settings_named_in_config_source('SETTINGS = {"B": 1}\ndef f(env):\n    env.get("A")\n') == {"A"}
    looped = 'SETTINGS = {"B": 1}\ndef f(env):\n    return {n: g(n, env) for n in SETTINGS}\n'
    assert settings_named_in_config_source(looped) == {"B"}


def test_the_configuration_reference_lists_exactly_the_settings_config_reads() -> None:
    read = settings_read_at_run_time()
    assert "ENVIRONMENT_SUFFIX" in read
    reference = (ROOT / "docs" / "configuration.md").read_text()
    summary = reference.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert set(SETTING_HEADING.findall(reference)) == read, "one `### NAME` section per setting"
    assert set(TABLE_SETTING.findall(summary)) == read, "one row per setting in the summary table"
    readme = (ROOT / "README.md").read_text()
    readme_table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert set(TABLE_SETTING.findall(readme_table)) == read, "the README's configuration table"


# The example CI workflow --------------------------------------------------------------------------


def test_the_example_workflow_plans_pull_requests_and_applies_main_with_oidc() -> None:
    assert ".github" not in WORKFLOW.parts, "an example: GitHub must not run it here"
    assert not (ROOT / ".github" / "workflows" / WORKFLOW.name).exists()
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert set(jobs) == {"check", "plan", "apply"}
    check = [step.get("run", "") for step in jobs["check"]["steps"]]
    assert {"make synth", "make test", "make lint"} <= set(check)
    assert "pull_request" in jobs["plan"]["if"]
    assert "refs/heads/main" in jobs["apply"]["if"]
    for name in ("plan", "apply"):
        job = jobs[name]
        assert job["needs"] == "check"
        assert job["permissions"]["id-token"] == "write"
        uses = [step.get("uses", "") for step in job["steps"]]
        assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
        assert {"ENVIRONMENT_SUFFIX", "AWS_REGION", "STATE_BUCKET"} <= set(job["env"])
        assert any(step.get("run") == "make plan" for step in job["steps"])
    applies = [step["run"] for step in jobs["apply"]["steps"] if "apply" in step.get("run", "")]
    assert applies == [
        "terraform -chdir=cdktf.out/stacks/tap-account apply -input=false plan.tfplan",
        "terraform -chdir=cdktf.out/stacks/tap-stack apply -input=false plan.tfplan",
    ]
