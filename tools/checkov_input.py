"""The synthesized stacks as checkov can read them: `python -m tools.checkov_input OUT_DIR STACK_JSON...`.

checkov 3.3.30's terraform_json parser takes every key of the `terraform` block for a block and
stops on `required_version`, a string ("this method receives only dicts"), and then reports
"Parsing errors" and 0 checks with exit status 0. That one setting is left out of the copy checkov
scans; it configures the CLI, not a resource, so no check looks at it. Each copy keeps its stack's
directory name, so checkov's findings still name the stack.
"""

import json
import sys
from pathlib import Path


def checkov_copy(stack_json: Path, out_dir: Path) -> Path:
    document = json.loads(stack_json.read_text())
    document.get("terraform", {}).pop("required_version", None)
    target = out_dir / stack_json.parent.name / stack_json.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, sort_keys=True))
    return target


def main(arguments: list[str]) -> int:
    if len(arguments) < 2:
        print("usage: python -m tools.checkov_input OUT_DIR STACK_JSON...", file=sys.stderr)
        return 2
    for name in arguments[1:]:
        print(checkov_copy(Path(name), Path(arguments[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
