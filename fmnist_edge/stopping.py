"""Ctrl-C and `kill` as a request that a long loop cannot miss.

Python runs a signal's handler between two bytecodes of the main thread, wherever they are. When they
are inside a `__del__` or a weakref callback (TensorFlow's objects run many), the KeyboardInterrupt the
handler raises is printed as "Exception ignored" and lost, and a training run would go on to its last
epoch and exit 0. So the handler also sets a flag, and the training loops check it at every step
(fitting.loop.stop_when_asked) and raise again.
"""
from __future__ import annotations

import signal

_requested = False


def _stop(signum, frame) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


def handle_stop_signals() -> None:
    """Ctrl-C (SIGINT) and `kill` (SIGTERM) both stop the current step the same way: a KeyboardInterrupt,
    and the flag `stop_requested()` reads from then on."""
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)


def stop_requested() -> bool:
    return _requested
