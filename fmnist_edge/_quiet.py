"""Silence the start-up chatter TensorFlow and LiteRT print from C++, and nothing else.

Their native code writes straight to file descriptor 2, some of it before absl logging is
set up, so neither TF_CPP_MIN_LOG_LEVEL nor Python's logging can reach it. Around the
calls that print it, fd 2 is captured; afterwards every line that is not known chatter
is written back, so real errors still show.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator

_CHATTER = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
    r"Could not find cuda drivers|failed call to cuInit|This TensorFlow binary is optimized|"
    r"To enable the following instructions|Unable to register cu(DNN|FFT|BLAS) factory|"
    r"computation placer already registered|TF-TRT Warning|"
    r"Created TensorFlow Lite XNNPACK delegate|fully_quantize: \d|"
    r"^W0000 .*(tf_tfl_flatbuffer_helpers|flatbuffer_export)|^I0000 .*(tf_tfl_flatbuffer_helpers|flatbuffer_export)"
)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Capture fd 2 for the block; replay all but known start-up and converter chatter."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr (some embedded hosts): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not _CHATTER.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()
