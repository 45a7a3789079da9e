"""Errors a user can act on: each carries every problem found, located as file:row:field."""

from __future__ import annotations

from dataclasses import dataclass


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
