"""Typed errors with a hint, and the exit statuses the command line uses."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    BAD_INPUT = 2
    NO_MATCH = 3
    DOCTOR_WARNINGS = 4  # ampfix doctor: the worst finding is a warning
    DOCTOR_ERRORS = 5  # ampfix doctor: at least one finding is an error


class AmpfixError(Exception):
    """An error a user can act on: one line of message, one line of hint."""

    exit_status = ExitStatus.ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class BadInputError(AmpfixError):
    exit_status = ExitStatus.BAD_INPUT


class RecipeError(AmpfixError):
    """A recipe file that does not meet the schema."""

    def __init__(self, path: str, field: str, why: str) -> None:
        super().__init__(f"{path}: {field}: {why}", "fix the recipe, then run `ampfix recipes check`")
        self.path = path
        self.field = field
        self.why = why


class IndexStateError(AmpfixError):
    """The search index is missing, stale or damaged."""


class ModelError(AmpfixError):
    """The language model could not be loaded or run."""


class SlackError(AmpfixError):
    """Slack refused the app's tokens, or could not be reached."""
