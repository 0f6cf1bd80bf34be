"""Ctrl-C held off for the few instructions that must not be split: a commit and the count of
what it stored.

Python runs a signal's handler between two instructions, so Ctrl-C can raise
``KeyboardInterrupt`` (or the command line's ``Interrupted``) just after SQLite has committed and
before the ledger has noted it: a caller told "nothing was stored" would then be wrong. Inside
``held()``, SIGINT waits (``pthread_sigmask``) and its handler runs as soon as the block ends:
before the commit or after both, never between.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held() -> Iterator[None]:
    """SIGINT waits until the block ends (in the main thread, where Python runs its handler, on
    systems with ``pthread_sigmask``; elsewhere the block runs as it is)."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = mask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, previous)
