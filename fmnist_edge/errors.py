"""Errors a user can cause. The CLI turns each into one line and its exit code."""
from __future__ import annotations


class FmnistEdgeError(Exception):
    """A problem with the user's input or environment, not a bug.

    The message is one line that names the problem (and the file, where there is one).
    """

    exit_code = 2


class DataError(FmnistEdgeError):
    """Missing, malformed or inconsistent data files."""


class RunDirError(FmnistEdgeError):
    """A run directory that is missing, incomplete, or would be overwritten."""


class TrainingError(FmnistEdgeError):
    """Training stopped for a reason the user must act on (e.g. a NaN loss)."""

    exit_code = 1


class InterruptedRunError(TrainingError):
    """Ctrl-C during training: the last complete epoch is saved and can be resumed."""

    exit_code = 130  # the shell's convention for a process stopped by SIGINT


class BudgetExceededError(FmnistEdgeError):
    """A deployed model lost more accuracy than the budget allows (its artifacts are kept, marked failed)."""

    exit_code = 3


def one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type's name when it has none: what a
    one-line error shows of a library's exception (a converter's message can be empty or start blank)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
