"""Errors a user can act on: each carries every problem found, located as file:row:field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One located problem in the user's input or configuration."""

    file: str
    row: int | str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.row, self.field) if p not in (None, ""))
        return f"{where}: {self.message}" if where else self.message


#: How many problems are printed; the rest are counted ("… and 999,950 more").
SHOWN: Final = 50


def shown(problems: Sequence[Problem], limit: int = SHOWN) -> list[str]:
    """The first ``limit`` problems as lines, then one line counting the rest: a file with a
    million bad rows prints 51 lines, not a million."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit:,} more")
    return lines


class InputError(Exception):
    """Invalid input data or configuration (CLI exit code 2). Holds all problems, not just the first."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(shown(self.problems)))


def validated(model: type[M], data: dict, source: str) -> M:
    """``model.model_validate(data)``, with every pydantic error as a Problem at its key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, source) from None


def from_validation(exc: ValidationError, source: str) -> InputError:
    """A pydantic ``ValidationError`` as an ``InputError``: one Problem per error at its key path."""
    return InputError(
        [
            Problem(source, None, ".".join(map(str, e["loc"])), _message(e["msg"]))
            for e in exc.errors()
        ]
    )


def _message(msg: str) -> str:
    """pydantic's text without its "Value error, " prefix (our validators' messages are whole)."""
    return msg.removeprefix("Value error, ")
