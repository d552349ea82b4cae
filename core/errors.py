"""Errors a user can cause. Each carries one sentence that says what is wrong and what to do.

The CLI prints them as ``error: <sentence>`` with exit status 2; the dashboard shows the sentence next to
the control that caused it. Anything that is *not* a ``UserError`` is a bug in this project.
"""

from __future__ import annotations


class UserError(Exception):
    """Base class for mistakes a user can make (bad file, impossible setting, missing run)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DataError(UserError):
    """The data cannot be read or cannot be classified as it is."""


class TooBigError(DataError):
    """The data would not fit in the free memory; ``fitting_rows`` is the largest random sample that would (0: none)."""

    def __init__(self, message: str, fitting_rows: int = 0) -> None:
        super().__init__(message)
        self.fitting_rows = fitting_rows


class ConfigError(UserError):
    """An experiment setting is unknown, of the wrong type or impossible."""


class RunError(UserError):
    """A saved run is missing, incomplete or unreadable."""


def shown(value: object, *, limit: int = 60, quote: bool = True) -> str:
    """A user-derived string made safe for a one-line message: whitespace collapsed, long values cut."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'" if quote else text
