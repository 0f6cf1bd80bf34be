"""The base class of every event type: a frozen attrs class with a stable type tag."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from .errors import Rejected


class _Fields:
    """Lets ``str.format_map`` read an event's fields by name."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event

    def __getitem__(self, key: str) -> Any:
        return getattr(self.event, key)


@attrs.frozen
class Event:
    """Subclass with ``@attrs.frozen`` and set, as plain class attributes:

    - ``type``: the stable tag stored in the log (``"capacity.commissioned"``), never the class name;
    - ``stream_template``: the default stream, formatted with the event's fields
      (``"site/{site}"``); without one, the stream is the type;
    - ``schema``: the payload's shape version (1 until the shape changes; see ``upcast``).
    """

    type: ClassVar[str] = ""
    schema: ClassVar[int] = 1
    stream_template: ClassVar[str] = ""

    def default_stream(self) -> str:
        """The stream an event goes to when the caller names none."""
        if self.stream_template:
            return self.stream_template.format_map(_Fields(self))
        return self.type

    @classmethod
    def upcast(cls, schema: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring a payload stored under an older ``schema`` up to the current shape.

        Stored bytes never change: old events are upgraded as they are read. Override this when
        ``schema`` goes up; the default knows no older shape.
        """
        if schema != cls.schema:
            raise Rejected(
                f"{cls.type}: schema {schema} is not known (current: {cls.schema}); "
                "the event class needs an upcast for it"
            )
        return data
