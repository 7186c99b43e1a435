"""A small IAM policy evaluator for the synthesized documents, since the emulator evaluates none.

It covers what the stack's policies use: Allow and Deny; principals `*`, {"AWS": ...} and
{"Service": ...}; actions and resources with `*` wildcards (Terraform references are plain text
here, compared as written); and the condition operators StringEquals, StringLike, ArnEquals,
ArnLike and Bool, each key matching when any of its values matches (a missing key never
matches); and ForAllValues:StringLike over a multivalued key (every value of the request must
match one of the patterns; as in IAM, a missing key matches). Not modelled:
NotAction/NotResource/NotPrincipal, IfExists and other set operators,
permission boundaries and SCPs; tests/stack/test_access_edges.py refuses a document that uses
anything else, so nothing is silently ignored.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

ALLOW, DENY, NO_OPINION = "Allow", "Deny", "no statement applies"
KNOWN_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}
OPERATORS = {"StringEquals", "StringLike", "ArnEquals", "ArnLike", "Bool", "ForAllValues:StringLike"}


@dataclass(frozen=True)
class Request:
    principal: tuple[str, str]  # ("AWS", role ARN) or ("Service", "cloudwatch.amazonaws.com")
    action: str
    resource: str
    # Condition keys of the request; a multivalued one (dynamodb:LeadingKeys) as a tuple of strings.
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)


def decide(document: Mapping, request: Request, *, resource_policy: bool) -> str:
    """Deny if any statement denies, else Allow if any allows, else no opinion (implicit deny)."""
    effects = {s["Effect"] for s in _statements(document) if _applies(s, request, resource_policy)}
    if DENY in effects:
        return DENY
    return ALLOW if ALLOW in effects else NO_OPINION


def unsupported(document: Mapping) -> list[str]:
    """What in the document this evaluator would not understand (must be empty)."""
    problems = []
    for statement in _statements(document):
        problems += [f"key {key}" for key in set(statement) - KNOWN_STATEMENT_KEYS]
        problems += [f"operator {op}" for op in statement.get("Condition", {}) if op not in OPERATORS]
        if statement["Effect"] not in (ALLOW, DENY):
            problems.append(f"effect {statement['Effect']}")
    return problems


def _statements(document: Mapping) -> list[dict]:
    statements = document["Statement"]
    return [statements] if isinstance(statements, dict) else list(statements)


def _applies(statement: dict, request: Request, resource_policy: bool) -> bool:
    if resource_policy and not _principal_matches(statement.get("Principal"), request.principal):
        return False
    return (
        _any_match(statement["Action"], request.action, ignore_case=True)
        # A trust policy's statements name no resource: the role itself is the resource.
        and _any_match(statement.get("Resource", "*"), request.resource)
        and all(
            _condition_holds(operator, key, values, request.context)
            for operator, clauses in statement.get("Condition", {}).items()
            for key, values in clauses.items()
        )
    )


def _principal_matches(principal: object, caller: tuple[str, str]) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    kind, name = caller
    return _any_match(principal.get(kind, []), name)


def _condition_holds(operator: str, key: str, expected: object, context: Mapping[str, str | tuple[str, ...]]) -> bool:
    values = expected if isinstance(expected, list) else [expected]
    if operator == "ForAllValues:StringLike":
        actual_values = context.get(key, ())
        listed = (actual_values,) if isinstance(actual_values, str) else actual_values
        return all(any(fnmatchcase(value, str(v)) for v in values) for value in listed)
    if key not in context:
        return False
    actual = context[key]
    if not isinstance(actual, str):
        raise TypeError(f"{operator} on the multivalued key {key}: IAM needs a set operator there")
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatchcase(actual, str(v)) for v in values)
    if operator == "Bool":
        return any(actual.lower() == str(v).lower() for v in values)
    return actual in [str(v) for v in values]  # StringEquals, ArnEquals


def _any_match(patterns: object, value: str, *, ignore_case: bool = False) -> bool:
    listed = patterns if isinstance(patterns, list) else [patterns]
    if ignore_case:
        return any(fnmatchcase(value.lower(), str(p).lower()) for p in listed)
    return any(fnmatchcase(value, str(p)) for p in listed)
