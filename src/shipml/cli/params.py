"""click parameters and parameter types that several verbs share."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

import click

E = TypeVar("E", bound=StrEnum)


class EnumChoice(click.Choice, Generic[E]):  # type: ignore[type-arg]
    """One of a string enum's values on the command line; the enum member in the function."""

    def __init__(self, enum: type[E]) -> None:
        super().__init__([member.value for member in enum])
        self._enum = enum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> E:
        """The member whose value was given (a default may already be the member)."""
        if isinstance(value, self._enum):
            return value
        return self._enum(super().convert(value, param, ctx))


project_argument = click.argument(
    "project", type=click.Path(file_okay=False, path_type=Path), default=Path(".")
)
