"""Charts that plugins draw: the contract of ``register_charts`` and the drawing of one to a file.

A chart is an object with ``name``, ``title``, ``formats`` (the file suffixes it writes, such as
``("png", "svg")``) and ``draw(ledger, path, *, format, until=None, title=None)``. The engine
knows nothing of what a chart shows: it picks the chart, checks the format, and has it write a
temporary file that is renamed into place once complete (a failure leaves no file).
"""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import LedgerError, PluginError, UsageError
from .files import replacing_path
from .hints import did_you_mean

if TYPE_CHECKING:
    from .ledger import Ledger


@runtime_checkable
class Chart(Protocol):
    """What ``register_charts`` registers."""

    name: str
    title: str
    formats: tuple[str, ...]

    def draw(self, ledger: Ledger, path: str, *, format: str, until: Any = None,
             title: str | None = None) -> None: ...


def pick(charts: dict[str, Chart], name: str | None) -> Chart:
    """The chart named ``name``, or the first registered; ``UsageError`` with a hint when there
    is no such chart (or none at all)."""
    if not charts:
        raise UsageError("no loaded plugin draws a chart")
    if name is None:
        return next(iter(charts.values()))
    if name not in charts:
        raise UsageError(f"no chart named {name!r}{did_you_mean(name, charts)}; the charts are "
                         f"{', '.join(charts)}")
    return charts[name]


def draw(ledger: Ledger, chart: Chart, output: str | os.PathLike[str], *, until: Any = None,
         title: str | None = None) -> pathlib.Path:
    """Have ``chart`` draw ``ledger`` into ``output`` (its suffix names the format), whole or not
    at all; return the path."""
    path = pathlib.Path(output)
    format = path.suffix.lower().lstrip(".")
    if format not in chart.formats:
        raise LedgerError(f"{output}: the chart {chart.name!r} is written as "
                          f"{' or '.join('.' + f for f in chart.formats)}")
    with replacing_path(str(path)) as temporary:
        try:
            chart.draw(ledger, temporary, format=format, until=until, title=title)
        except (LedgerError, KeyboardInterrupt):
            raise
        except Exception as error:  # the plugin's failure, named as such
            owners = getattr(getattr(ledger, "_host", None), "chart_owners", {})
            owner = owners.get(chart.name, chart.name)
            raise PluginError(f"chart {chart.name} failed: {type(error).__name__}: {error}",
                              plugin=owner) from error
    return path
