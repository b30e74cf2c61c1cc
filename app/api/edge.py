"""Text that reaches a route outside a body model: query and path parameters, form fields.

Bodies are checked by StrictModel (app/schemas/common.py); this dependency applies the same rule to the
rest, for every route: no unpaired surrogates, no control characters. A refusal is a 422 naming the
parameter.
"""

from fastapi import Request
from fastapi.params import Form

from app.errors import Invalid
from app.schemas.common import text_problem


async def checked_text_params(request: Request) -> None:
    """Refuse a query, path or form value (or name) that is not one line of text."""
    sources: list[tuple[str, list[tuple[str, str]]]] = [
        ("query", list(request.query_params.multi_items())),
        ("path", [(k, str(v)) for k, v in request.path_params.items()]),
    ]
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is not None and isinstance(body_field.field_info, Form):
        # FastAPI has read the form already (before any dependency); this is its cached copy
        form = await request.form()
        sources.append(("form", [(k, v) for k, v in form.multi_items() if isinstance(v, str)]))
    for where, items in sources:
        for name, value in items:
            problem = text_problem(name)
            if problem is not None:
                raise Invalid(f"a {where} parameter's name {problem}", field=where)
            problem = text_problem(value)
            if problem is not None:
                raise Invalid(problem, field=name)
