"""What a saved `terraform plan` would change, read from `terraform show -json <plan file>`.

Right after an apply, a plan of the same JSON should change nothing; on the emulator it changes
exactly tools/emulator_gaps.py's EMULATOR_PLAN_GAPS.
"""

from dataclasses import dataclass
from typing import Any

DETAILED_EXIT_CHANGES = 2  # `terraform plan -detailed-exitcode`: 0 nothing to do, 1 error, 2 changes
WHOLE_RESOURCE = "*"  # the "attribute" of a change that creates, deletes or replaces a resource


@dataclass(frozen=True)
class PlannedChange:
    address: str  # resource address, or output.<name>
    actions: tuple[str, ...]  # ("update",), ("create",), ("delete", "create"), ...
    attributes: tuple[str, ...]  # the top-level attributes that change; WHOLE_RESOURCE otherwise


@dataclass(frozen=True)
class Plan:
    changes: tuple[PlannedChange, ...]

    @classmethod
    def from_json(cls, plan: dict[str, Any]) -> "Plan":
        """From `terraform show -json <plan file>`: every resource and output change but no-ops."""
        changes = [
            PlannedChange(rc["address"], tuple(rc["change"]["actions"]), _changed_attributes(rc["change"]))
            for rc in plan.get("resource_changes", [])
            if rc["change"]["actions"] != ["no-op"]
        ]
        changes += [
            PlannedChange(f"output.{name}", tuple(change["actions"]), ("value",))
            for name, change in plan.get("output_changes", {}).items()
            if change["actions"] != ["no-op"]
        ]
        return cls(tuple(changes))

    def drift(self) -> set[tuple[str, str]]:
        """(address, attribute) for each attribute the plan would change."""
        return {(change.address, attribute) for change in self.changes for attribute in change.attributes}


def _changed_attributes(change: dict[str, Any]) -> tuple[str, ...]:
    if change["actions"] != ["update"]:
        return (WHOLE_RESOURCE,)
    before, after, unknown = change["before"] or {}, change["after"] or {}, change.get("after_unknown") or {}
    names = sorted(before.keys() | after.keys() | unknown.keys())
    return tuple(name for name in names if before.get(name) != after.get(name) or _has_unknown(unknown.get(name)))


def _has_unknown(marks: Any) -> bool:
    """after_unknown mirrors the value with True where it is known only after apply."""
    if isinstance(marks, dict):
        return any(map(_has_unknown, marks.values()))
    if isinstance(marks, list):
        return any(map(_has_unknown, marks))
    return marks is True
