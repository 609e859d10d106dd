"""One progress mechanism for every stage: a bar within long work on a terminal, a line per step otherwise.

Every stage (train, quantize's fine-tuning, export's conversions and checks, bench, check, the pipeline)
reports through a `Progress`:

    progress = Progress("auto")                # "bar" when stderr is a terminal, else "lines"
    progress.line("[1/4] train")               # a line that stays, in every mode but "none"
    with progress.task("measuring", total=12, announce=True) as task:
        for name in names:
            task.start(name)                   # the bar's label; with announce, a line in "lines" mode
            ...
            task.advance()

Modes: "bar" draws click's progress bar on stderr and clears it when the task ends (the line the task
prints then takes its place); "lines" prints only lines (a log file gets one line per epoch, not a
bar's carriage returns); "none" prints nothing. Lines go to stdout unless the stage's stdout is its
result (bench's table, check's verdicts): those stages send them to stderr.

This module imports no TensorFlow: the deploy-only commands use it too. The Keras callback that drives
a task per epoch is `fitting.EpochProgress`.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator, TextIO

import click

MODES = ("auto", "bar", "lines", "none")

_CLEAR_LINE = "\r\x1b[2K\x1b[?25h"  # erase the line, show the cursor again (click hid it): the bar leaves no trace


class Task:
    """One piece of long work with a known number of steps."""

    def __init__(self, progress: "Progress", label: str, total: int, announce: bool):
        self._progress, self._label, self._announce = progress, label, announce
        self.total, self.position = max(int(total), 0), 0
        self._bar = None
        if progress.mode == "bar" and self.total:
            self._bar = click.progressbar(length=self.total, label=label, file=progress.bar_stream, show_eta=True,
                                          show_pos=True, show_percent=False)
            self._bar.render_progress()

    def start(self, label: str) -> None:
        """A new step begins: it names the bar (and, with announce, prints a line when there is no bar)."""
        if self._bar is not None:
            self._bar.label = f"{self._label} {label}"
            self._bar.render_progress()
        elif self._announce:
            self._progress.line(f"{self._label} {label}")

    def advance(self, steps: int = 1) -> None:
        self.advance_to(self.position + steps)

    def advance_to(self, position: int) -> None:
        position = min(max(position, self.position), self.total)
        if self._bar is not None and position > self.position:
            self._bar.update(position - self.position)
        self.position = position

    def close(self) -> None:
        if self._bar is not None:  # not click's render_finish, which leaves the finished bar on its own line
            self._progress.bar_stream.write(_CLEAR_LINE)
            self._progress.bar_stream.flush()
            self._bar = None


class Progress:
    """Where a stage's progress goes, by mode: "auto", "bar", "lines" or "none" (see the module's text)."""

    def __init__(self, mode: str = "auto", *, lines: TextIO | None = None, bar_stream: TextIO | None = None):
        if mode not in MODES:
            raise ValueError(f"progress must be one of {MODES}, got {mode!r}")
        self.lines = lines if lines is not None else sys.stdout
        self.bar_stream = bar_stream if bar_stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if _is_terminal(self.bar_stream) else "lines"
        self.mode = mode

    @classmethod
    def of(cls, progress: "str | Progress", **streams: TextIO) -> "Progress":
        """A mode name or a Progress, as every stage's `progress=` argument takes."""
        return progress if isinstance(progress, Progress) else cls(progress, **streams)

    @property
    def quiet(self) -> bool:
        return self.mode == "none"

    def line(self, text: str) -> None:
        if self.mode != "none":
            click.echo(text, file=self.lines)
            self.lines.flush()

    @contextlib.contextmanager
    def task(self, label: str, total: int, *, announce: bool = False) -> Iterator[Task]:
        task = Task(self, label, total, announce)
        try:
            yield task
        finally:
            task.close()

    def open_task(self, label: str, total: int, *, announce: bool = False) -> Task:
        """A task ended by its `close()`: for work whose steps arrive through callbacks (Keras' epochs)."""
        return Task(self, label, total, announce)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
