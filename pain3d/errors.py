"""User-facing errors: one line, exit code 2, never a traceback."""

from __future__ import annotations

EXIT_USER_ERROR = 2


class Pain3DError(Exception):
    """A mistake in the user's input (job file, plan, dataset, command line).

    The message is a single line that names the field, the value and what is allowed.
    The CLI prints it and exits with EXIT_USER_ERROR.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def first_line(err: BaseException) -> str:
    """An exception as one line for an error message: its type and the first line of its text."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
