"""Reading the ledger page and record pages back, for the tests (in process and in a browser):
an HTML tree built with the standard library's parser, the figures the pages show, and the
figures ``report --json`` says they should show."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, Optional

from ledger.figures import money, show

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Optional[Node] = None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and all(
                        _has(child, key.rstrip("_").replace("_", "-"), value)
                        for key, value in attrs.items()):
                    found.append(child)
                found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}> where one was expected"
        return found[0]


def _has(node: Node, key: str, value: str) -> bool:
    if key == "class":
        return value in node.attrs.get("class", "").split()
    return node.attrs.get(key) == value


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("#document", {})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.at)
        self.at.children.append(node)
        if tag not in VOID:
            self.at = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        self.at.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.at))

    def handle_endtag(self, tag: str) -> None:
        node: Optional[Node] = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.at = node.parent

    def handle_data(self, data: str) -> None:
        self.at.children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


# --- what the pages show ---------------------------------------------------------------------


def tables(node: Node) -> list[dict[str, Any]]:
    """The report tables under a node: caption, headers, rows of cell texts."""
    found = []
    for table in node.all("table", class_="report"):
        captions = table.all("caption")
        found.append({
            "caption": captions[0].words() if captions else "",
            "headers": [th.words() for th in table.all("th")],
            "rows": [[td.words() for td in tr.all("td")] for tr in table.one("tbody").all("tr")],
        })
    return found


def sections(page: Node) -> dict[str, Node]:
    return {s.attrs["data-projection"]: s for s in page.all("section", class_="projection")}


def table_with(section: Node, *headers: str, caption: str = "") -> dict[str, list[str]]:
    """The rows (by their first cell) of the one table whose headers start with ``headers``
    and whose caption starts with ``caption``."""
    (found,) = [t for t in tables(section)
                if t["headers"][:len(headers)] == list(headers) and t["caption"].startswith(caption)]
    return {row[0]: dict(zip(found["headers"], row)) for row in found["rows"]}


def linked_seqs(node: Node) -> list[int]:
    """The seqs of the record links under a node, in order."""
    return [int(tr.attrs["data-seq"]) for tr in node.all("tr") if "data-seq" in tr.attrs]


# --- what report --json says they should show --------------------------------------------------


def check_builtin_figures(page: Node, report: dict[str, Any]) -> int:
    """The built-in domain's figures on the ledger page equal ``report --json``'s; returns how
    many were compared."""
    shown = sections(page)
    compared = 0
    investment = report["investment"]
    assert f"released in all: {money(investment['released_usd'])}" in shown["investment"].words()
    agreements = table_with(shown["investment"], "agreement", "status")
    assert set(agreements) == set(investment["agreements"])
    for name, agreement in investment["agreements"].items():
        row = agreements[name]
        assert row["status"].split()[0] == agreement["status"]
        assert row["released"] == money(agreement["released_usd"])
        assert row["forfeited"] == money(agreement["forfeited_usd"])
        assert Decimal(row["commissioned GW"]) == Decimal(agreement["commissioned_gigawatts"])
        earned, released = row["tranches earned / released"].split(" / ")
        assert (int(earned), int(released)) == (agreement["tranches_earned"],
                                                agreement["tranches_released"])
        compared += 5
    inventory = report["gpu_inventory"]
    text = shown["gpu_inventory"].words()
    assert f"GPUs counted: {show(inventory['counted'])} packages" in text
    assert f"{show(inventory['estimated_low'])} - {show(inventory['estimated_high'])} packages" \
        in text
    compared += 3
    mix = report["provider_mix"]["commissioned_gigawatts"]
    providers = table_with(shown["provider_mix"], "provider", "GW",
                           caption="commissioned GW by provider")
    assert {name for name in providers if name != "total"} == set(mix["by_provider"])
    for name, share in mix["by_provider"].items():
        assert Decimal(providers[name]["share"]) == Decimal(share)
        compared += 1
    assert f"(HHI {show(mix['hhi'])})" in text_of_captions(shown["provider_mix"])
    pipeline = report["pipeline"]
    totals = table_with(shown["pipeline"], "provider", "planned GW")["total"]
    for column, key in (("planned GW", "planned_gigawatts"), ("delivered GW", "delivered_gigawatts"),
                        ("remaining GW", "remaining_gigawatts"), ("late GW", "late_gigawatts")):
        assert Decimal(totals[column]) == Decimal(pipeline["totals"][key])
        compared += 1
    plans = [t for t in tables(shown["pipeline"]) if t["headers"][:2] == ["status", "due"]]
    statuses = [row[0] for row in plans[0]["rows"]] if plans else []
    assert sorted(statuses) == sorted(p["status"].replace("_", " ") for p in pipeline["plans"])
    order = {"late": 0, "on track": 1, "done": 2}
    assert statuses == sorted(statuses, key=order.__getitem__), "late plans come first"
    return compared + len(statuses)


def text_of_captions(section: Node) -> str:
    return " ".join(t["caption"] for t in tables(section))


def check_tool_library_figures(page: Node, report: dict[str, Any]) -> int:
    """The tool library's figures on the ledger page equal ``report --json``'s."""
    shown = sections(page)
    fees = report["fees"]
    assert f"late fees in all: {money(fees['charged_usd'])}" in shown["fees"].words()
    members = table_with(shown["fees"], "member")
    assert set(members) == set(fees["by_member"])
    for member, figures in fees["by_member"].items():
        assert members[member]["charged"] == money(figures["usd"])
        assert int(members[member]["late returns"]) == figures["late_returns"]
    tools = table_with(shown["shelf"], "tool")
    assert set(tools) == set(report["shelf"]["tools"])
    for tool, figures in report["shelf"]["tools"].items():
        assert tools[tool]["status"] == figures["status"]
        assert tools[tool]["member"] == show(figures["lent_to"])
    return 1 + 2 * len(members) + 2 * len(tools)
