"""The registry's own request bodies made from a file's values: checked while the file is checked (the
same rules the write applies — text without control characters or line breaks where one line is meant,
lengths, an ID number's digits), so that a dry run finds what the import would be refused."""

from typing import Any

from pydantic import ValidationError

from app.schemas.households import HouseholdUpdate, MemberCreate

MEMBER_BODY_FIELDS = frozenset(MemberCreate.model_fields) - {"effective_on", "birth_date"}


def member_body(values: dict[str, Any]) -> MemberCreate:
    return MemberCreate.model_validate({k: v for k, v in values.items() if k in MEMBER_BODY_FIELDS})


def household_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The household's own fields as the registry keeps them (an address's phone or ID numbers masked)."""
    given: dict[str, Any] = {k: values[k] for k in ("address", "phone") if k in values}
    kept = HouseholdUpdate.model_validate(given)
    return {name: getattr(kept, name) for name in given}


def refusals(error: ValidationError, default: str) -> list[tuple[str, str]]:
    """(field, message) for each of a body's refusals; a refusal of the whole body is on `default`."""
    found = []
    for item in error.errors():
        loc = item.get("loc") or ()
        name = str(loc[0]) if loc else default
        found.append((name, str(item.get("msg", "invalid value")).removeprefix("Value error, ")))
    return found
