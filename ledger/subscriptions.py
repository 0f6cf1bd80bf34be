"""Subscriptions: a callback that sees every record after a seq, once each, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .record import Record


class Subscription:
    """Made by ``Ledger.subscribe``: ``position`` is the last seq delivered. Close it (or use it
    as a context manager) to stop receiving records."""

    def __init__(self, callback: Callable[[Record], Any], after: int,
                 detach: Callable[[Subscription], None]) -> None:
        self.callback = callback
        self.position = after
        self._detach = detach
        self.active = True

    def close(self) -> None:
        if self.active:
            self.active = False
            self._detach(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        name = getattr(self.callback, "__qualname__", repr(self.callback))
        return f"<Subscription {name} at seq {self.position}{'' if self.active else ', closed'}>"
