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
