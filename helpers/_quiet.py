"""Import TensorFlow without its C++ start-up log lines."""

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ logging filtered and fd 2 silenced."""
    if "tensorflow" in sys.modules:
        return
    # Level 3 drops INFO, WARNING and ERROR lines of TensorFlow's C++ core.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN kernels pick their code path by CPU; without them results are
    # bit-for-bit the same on the machines that execute the book.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with _stderr_silenced():
        import tensorflow  # noqa: F401
