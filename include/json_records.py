"""Frozen records, validated when built, that dump themselves as the JSON the store keeps.

The drift analysis, the reference expectations, the quality report and the check results are
pydantic dataclasses (:func:`json_record`): pydantic validates and converts their fields when
they are built (numpy scalars become plain numbers, JSON lists become tuples) and dumps them to
plain JSON types; they stay dataclasses, so ``dataclasses.replace`` (validated again),
``dataclasses.fields`` and positional construction keep working for their callers. The
:class:`JsonRecord` base gives them ``model_dump``/``model_validate`` as pydantic's models have.

JSON holds no NaN nor infinity: a non-finite float dumps as null (``JsonFloat`` for typed
fields; pydantic does the same for floats in untyped values), as the store has always written
it, and numpy scalars in untyped values dump as the plain numbers they hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal, Self, TypeVar

import pydantic.dataclasses
from pydantic import PlainSerializer, TypeAdapter


def _finite_or_none(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


JsonFloat = Annotated[float, PlainSerializer(_finite_or_none, return_type=Any, when_used="json")]
"""A float field that dumps as null in JSON when it is NaN or ±inf."""

_Record = TypeVar("_Record", bound=type)


def json_record(*, kw_only: bool = False) -> Callable[[_Record], _Record]:
    """Make a class a frozen pydantic dataclass (validated at construction)."""
    return pydantic.dataclasses.dataclass(frozen=True, kw_only=kw_only)


class JsonRecord:
    """``model_dump``/``model_validate`` for a :func:`json_record` class, as on a pydantic model."""

    def model_dump(
        self, *, mode: Literal["json", "python"] = "python", include: set[str] | None = None
    ) -> dict[str, Any]:
        """The record as a dict (only the fields in ``include``, when given); ``mode="json"``:
        only JSON types (what the store keeps)."""
        return _adapter(type(self)).dump_python(
            self, mode=mode, include=include, fallback=_numpy_scalar
        )

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """The record read back from what ``model_dump`` gave; pydantic's ValidationError when
        ``data`` does not fit it."""
        return _adapter(cls).validate_python(data)


@cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def _numpy_scalar(value: Any) -> Any:
    """A numpy scalar in an untyped value (a histogram, a details mapping) as a plain one."""
    item = getattr(value, "item", None)
    if item is None:
        raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")
    plain = item()
    return _finite_or_none(plain) if isinstance(plain, float) else plain
