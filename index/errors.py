"""Errors a user can act on: each carries every problem found, located as file:row:field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

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


class InputError(Exception):
    """Invalid input data or configuration (CLI exit code 2). Holds all problems, not just the first."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def validated(model: type[M], data: dict, source: str) -> M:
    """``model.model_validate(data)``, with every pydantic error as a Problem at its key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            [Problem(source, None, ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        ) from None
