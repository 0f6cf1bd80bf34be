"""A whole small domain on the bare engine: a community tool library.

Nothing here is about AI compute; it uses only the hooks any plugin has, to show that they
suffice for a domain of one's own (``Ledger.open(path, builtins=False, plugins=[...])``):

- event types: ``tool.added`` (a tool and its late fee per day), ``tool.lent`` (to a member,
  due on a date), ``tool.returned``, and ``fee.charged``, which the plugin derives when a tool
  comes back late (days late × the tool's fee);
- rules (``validate_event``): a tool is added once, lent only when on the shelf, returned only
  by the member who has it;
- projections with their text (``render``): ``shelf`` (where each tool is, and what is overdue as
  of the report's date) and ``fees`` (by member);
- tables for ``materialize``, explanations for ``explain`` (what a fee was charged for), and a
  chart (``register_charts``: loans by member, as SVG written by hand, no matplotlib).

Load it by path::

    gigaledger replay --plugin plugins/tool_library.py tools.jsonl     # with GIGALEDGER_BUILTINS=0
    Ledger.open("tools.db", builtins=False, plugins=["plugins/tool_library.py"])
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Optional
from xml.sax.saxutils import escape

import attrs

from ledger import Event, Finding, Rejected, Table, fields, for_types, hookimpl
from ledger.figures import money, show
from ledger.tables import table

MAX_FEE = Decimal(1000)


@attrs.frozen
class ToolAdded(Event):
    """A tool joins the library, with its late fee per day."""

    type = "tool.added"
    stream_template = "tool/{tool}"

    tool: str = fields.name()
    name: str = fields.text()
    daily_fee_usd: Decimal = fields.decimal(minimum=0, inclusive=True, maximum=MAX_FEE, places=2)

    def summary(self) -> str:
        return f"{self.tool} ({self.name}) added, late fee {money(self.daily_fee_usd)} a day"


@attrs.frozen
class ToolLent(Event):
    """A tool lent to a member, due back on a date."""

    type = "tool.lent"
    stream_template = "tool/{tool}"

    tool: str = fields.name()
    member: str = fields.name()
    due: date = fields.day()

    def summary(self) -> str:
        return f"{self.tool} lent to {self.member}, due {self.due.isoformat()}"


@attrs.frozen
class ToolReturned(Event):
    """A tool back on the shelf."""

    type = "tool.returned"
    stream_template = "tool/{tool}"

    tool: str = fields.name()
    member: str = fields.name()

    def summary(self) -> str:
        return f"{self.tool} returned by {self.member}"


@attrs.frozen
class FeeCharged(Event):
    """A late fee, derived from a late return."""

    type = "fee.charged"
    stream_template = "member/{member}"

    member: str = fields.name()
    tool: str = fields.name()
    days_late: int = fields.whole()
    usd: Decimal = fields.decimal(minimum=0, maximum=Decimal(10) ** 7, places=2)

    def summary(self) -> str:
        return f"{self.member} charged {money(self.usd)}: {self.tool} {self.days_late} days late"


@attrs.define
class Tool:
    name: str
    daily_fee_usd: Decimal
    lent_to: Optional[str] = None
    due: Optional[date] = None  # of the loan under way
    last_due: Optional[date] = None  # of the latest loan, kept once the tool is back
    loans: int = 0


class Shelf:
    """Where each tool is; what is overdue as of the report's date."""

    name = "shelf"
    handles = ("tool.added", "tool.lent", "tool.returned")
    state_type = dict[str, Tool]

    def initial(self) -> dict[str, Tool]:
        return {}

    def apply(self, state: dict[str, Tool], event: Any, record: Any) -> None:
        if isinstance(event, ToolAdded):
            state[event.tool] = Tool(event.name, event.daily_fee_usd)
        elif isinstance(event, ToolLent) and event.tool in state:
            tool = state[event.tool]
            tool.lent_to, tool.due, tool.last_due = event.member, event.due, event.due
            tool.loans += 1
        elif isinstance(event, ToolReturned) and event.tool in state:
            state[event.tool].lent_to = state[event.tool].due = None

    def summary(self, state: dict[str, Tool], *, as_of: Any = None) -> dict[str, Any]:
        today = as_of.day if as_of is not None else None
        tools = {}
        for name, tool in sorted(state.items()):
            late = (today - tool.due).days if tool.due and today and today > tool.due else 0
            status = "overdue" if late else ("lent" if tool.lent_to else "on the shelf")
            tools[name] = {"name": tool.name, "status": status, "lent_to": tool.lent_to,
                           "due": tool.due, "days_overdue": late, "loans": tool.loans}
        return {
            "as_of_date": today,
            "tools": tools,
            "on_loan": sum(1 for t in tools.values() if t["lent_to"]),
            "overdue": sum(1 for t in tools.values() if t["status"] == "overdue"),
        }

    def render(self, summary: dict[str, Any]) -> str:
        rows = [[name, t["name"], t["status"], t["lent_to"] or "-",
                 t["due"] or "-", t["days_overdue"] or "-"]
                for name, t in summary["tools"].items()]
        head = (f"as of {summary['as_of_date'] or '-'}: {summary['on_loan']} on loan, "
                f"{summary['overdue']} overdue")
        return head + ("\n" + table(rows, ["tool", "name", "status", "member", "due",
                                           "days overdue"]) if rows else "")


class Fees:
    """Late fees charged, by member."""

    name = "fees"
    handles = ("fee.charged",)
    state_type = dict[str, list[Decimal]]  # member: [usd in all, late returns]

    def initial(self) -> dict[str, list[Decimal]]:
        return {}

    def apply(self, state: dict[str, list[Decimal]], event: FeeCharged, record: Any) -> None:
        charged = state.setdefault(event.member, [Decimal(0), Decimal(0)])
        charged[0] += event.usd
        charged[1] += 1

    def summary(self, state: dict[str, list[Decimal]]) -> dict[str, Any]:
        return {
            "charged_usd": sum((usd for usd, _ in state.values()), Decimal(0)),
            "by_member": {member: {"usd": usd, "late_returns": int(count)}
                          for member, (usd, count) in sorted(state.items())},
        }

    def render(self, summary: dict[str, Any]) -> str:
        rows = [[member, money(m["usd"]), m["late_returns"]]
                for member, m in summary["by_member"].items()]
        head = f"late fees in all: {money(summary['charged_usd'])}"
        return head + ("\n" + table(rows, ["member", "charged", "late returns"]) if rows else "")


@hookimpl
def register_event_types(register):
    for event_class in (ToolAdded, ToolLent, ToolReturned, FeeCharged):
        register(event_class)


@hookimpl
def register_projections(register):
    register(Shelf())
    register(Fees())


@hookimpl
@for_types("tool.added", "tool.lent", "tool.returned")
def validate_event(event, view):
    tools = view["shelf"]
    if isinstance(event, ToolAdded):
        if event.tool in tools:
            raise Rejected(f"tool {event.tool!r} is in the library already")
        return
    tool = tools.get(event.tool)
    if tool is None:
        raise Rejected(f"no tool {event.tool!r} in the library")
    if isinstance(event, ToolLent) and tool.lent_to is not None:
        raise Rejected(f"tool {event.tool!r} is lent to {tool.lent_to} until {tool.due}")
    if isinstance(event, ToolReturned) and tool.lent_to != event.member:
        holder = f"lent to {tool.lent_to}" if tool.lent_to else "on the shelf"
        raise Rejected(f"tool {event.tool!r} is {holder}, not lent to {event.member}")


@hookimpl
@for_types("tool.returned")
def derive_events(event, record, view):
    """A late return is charged: days past the loan's due date × the tool's fee."""
    tool = view["shelf"][event.tool]
    days = (record.occurred_at.date() - tool.last_due).days
    if days <= 0 or tool.daily_fee_usd <= 0:
        return None
    return [FeeCharged(member=event.member, tool=event.tool, days_late=days,
                       usd=tool.daily_fee_usd * days)]


@hookimpl
def materialize_tables(ledger, view):
    shelf = view.summary("shelf")
    fees = view.summary("fees")
    return [
        Table("tool_library_tools",
              {"tool": str, "name": str, "status": str, "lent_to": str, "due": str,
               "days_overdue": int, "loans": int},
              ("tool",), [{"tool": tool, **fields} for tool, fields in shelf["tools"].items()]),
        Table("tool_library_fees", {"member": str, "usd": str, "late_returns": int},
              ("member",), [{"member": member, **m} for member, m in fees["by_member"].items()]),
    ]


@hookimpl
def explain_record(record, ledger):
    if record.type != "fee.charged":
        return None
    tool = record.data["tool"]
    history = [r for r in ledger.read(stream=f"tool/{tool}", until=record.seq)]
    returned = next((r for r in reversed(history) if r.type == "tool.returned"), None)
    lent = next((r for r in reversed(history) if r.type == "tool.lent"), None)
    if lent is None or returned is None:
        return None
    return [Finding(
        "charged for", [lent, returned],
        note=(f"due {lent.data['due']}, returned {returned.occurred_at.date()}: "
              f"{record.data['days_late']} days late"),
        data={"days_late": record.data["days_late"]},
    )]


class LoansByMember:
    """Loans by member, as horizontal bars: a chart drawn without matplotlib."""

    name = "loans"
    title = "Loans by member"
    formats = ("svg",)

    def draw(self, ledger, path, *, format, until=None, title=None):
        counts: dict[str, int] = {}
        for record in ledger.read(types=["tool.lent"], until=until):
            counts[record.data["member"]] = counts.get(record.data["member"], 0) + 1
        bars = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        width, row = 600, 28
        top = max((n for _, n in bars), default=1)
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
                 f'height="{60 + row * len(bars)}">',
                 f'<text x="10" y="30" font-size="18">{escape(title or self.title)}</text>']
        for index, (member, count) in enumerate(bars):
            y = 50 + index * row
            length = int(400 * count / top)
            parts.append(f'<text x="10" y="{y + 16}">{escape(member)}</text>'
                         f'<rect x="150" y="{y}" width="{length}" height="20" fill="#4477aa"/>'
                         f'<text x="{160 + length}" y="{y + 16}">{show(count)}</text>')
        parts.append("</svg>")
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(parts) + "\n")


@hookimpl
def register_charts(register):
    register(LoansByMember())
