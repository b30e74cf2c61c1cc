"""Read models as plain dicts, for answers of a thousand items.

A response model built from values (`ReadModel.of_values`) is a Python object per model, nested ones
included: four per report, 6 ms of a 1,000-report batch's answer. The same values left as nested dicts
serialise through a TypedDict derived here from the model, field by field with the field's own type and
serialiser, so the JSON is the model's own (a test compares them); `of_tree` makes the models from the
same dicts where a caller needs objects.
"""

import functools
import types
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from app.schemas.common import ReadModel

M = TypeVar("M", bound=ReadModel)
_PLAIN_CONFIG = {"from_attributes"}  # model settings that do not change the JSON


@functools.cache
def plain_form(model: type[ReadModel]) -> Any:
    """A TypedDict with `model`'s fields, their types and serialisers; nested read models become their
    plain forms too. A model serialised by more than its fields' types (computed fields, serialiser
    methods, settings of its own or of a field) has no plain form: a TypedDict would leave that out."""
    decorators = model.__pydantic_decorators__
    if model.__pydantic_computed_fields__ or decorators.field_serializers or decorators.model_serializers:
        raise TypeError(f"no plain form for {model.__name__}: it is serialised by methods of its own")
    if set(model.model_config) - _PLAIN_CONFIG:
        raise TypeError(f"no plain form for {model.__name__}: its config changes how it is serialised")
    fields: dict[str, Any] = {}
    for name, info in model.__pydantic_fields__.items():
        if info.exclude or info.exclude_if or info.alias or info.serialization_alias:
            raise TypeError(f"no plain form for {model.__name__}.{name}: it is renamed or left out")
        annotation = _plain(info.annotation)
        fields[name] = Annotated[annotation, *info.metadata] if info.metadata else annotation
    return TypedDict(f"{model.__name__}Plain", fields)  # type: ignore[operator]


@functools.cache
def plain_adapter(model: type[ReadModel]) -> TypeAdapter[Any]:
    """Serialises `model`'s plain form (`adapter.dump_json(values)`) to the JSON the model gives."""
    return TypeAdapter(plain_form(model))


def _plain(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, ReadModel):
        return plain_form(annotation)
    origin = get_origin(annotation)
    if origin is list:
        return list[_plain(get_args(annotation)[0])]  # type: ignore[misc]
    if origin in (Union, types.UnionType):
        members = get_args(annotation)
        if sum(_nested(a) for a in members) > 1:  # which TypedDict a dict is would be a guess
            raise TypeError(f"no plain form for {annotation!r}")
        return Union[tuple(_plain(a) for a in members)]  # noqa: UP007 — built from a tuple
    if _nested(annotation):
        raise TypeError(f"no plain form for {annotation!r}")
    return annotation


def _nested(annotation: Any) -> bool:
    """Whether a read model hides anywhere inside the annotation."""
    if isinstance(annotation, type) and issubclass(annotation, ReadModel):
        return True
    return any(_nested(a) for a in get_args(annotation))


def of_tree(model: type[M], values: dict[str, Any]) -> M:
    """The model (`of_values`, no validation) from its plain form's values, which are left as they were
    (the same values may be answered twice: a batch naming one stored report twice)."""
    values = dict(values)
    for name, sub, many in _read_model_fields(model):
        value = values[name]
        if value is not None:
            values[name] = [of_tree(sub, v) for v in value] if many else of_tree(sub, value)
    return model.of_values(values)


@functools.cache
def _read_model_fields(model: type[ReadModel]) -> tuple[tuple[str, type[ReadModel], bool], ...]:
    """(field, its read model, whether a list of them) for each field holding read models."""
    found: list[tuple[str, type[ReadModel], bool]] = []
    for name, info in model.__pydantic_fields__.items():
        annotation = info.annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) in (Union, types.UnionType) and len(args) == 1:
            annotation = args[0]  # Optional
        many = get_origin(annotation) is list
        inner = get_args(annotation)[0] if many else annotation
        if isinstance(inner, type) and issubclass(inner, ReadModel):
            found.append((name, inner, many))
        elif _nested(annotation):
            raise TypeError(f"{model.__name__}.{name}: no plain form for {annotation!r}")
    return tuple(found)
