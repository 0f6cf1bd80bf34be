"""The Datasette hooks: the routes of the ledger page and the record pages, and the links to
the ledger page from Datasette's own pages (the menu, a ledger's database and table pages).

Routes, for a ledger database served at ``/DB``:

- ``/DB/-/ledger``: the ledger page; ``/DB/-/ledger.json``: the report, as ``report --json``;
- ``/DB/-/ledger/records/SEQ``: a record page; ``.json``: as ``explain --json``.

The pages need no JavaScript. They follow Datasette's permissions (``view-instance`` and
``view-database``).
"""

from __future__ import annotations

import json
from typing import Any

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response

from ..errors import LedgerError
from .ledgers import Source, is_ledger, source, the_ledger_page, the_record_page

PAGE = "/-/ledger"


def ledger_path(datasette: Any, name: str) -> str:
    """The path of a database's ledger page."""
    return str(datasette.urls.database(name)) + PAGE


class Missing(Exception):
    """A page that is not there: its status and one line saying why."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


async def _ledger(datasette: Any, request: Any) -> tuple[Any, Source]:
    """The database the request names, once the actor may see it and it is a ledger."""
    route = tilde_decode(request.url_vars["database"])
    try:
        database = datasette.get_database(route=route)
    except KeyError:
        raise Missing(f"no database {route!r}") from None
    await datasette.ensure_permissions(request.actor, [("view-database", database.name),
                                                       "view-instance"])
    if not await is_ledger(database):
        raise Missing(f"{database.name} is not a gigaledger database (no events table)")
    try:
        return database, source(datasette, database)
    except LedgerError as error:
        raise Missing(str(error), 500) from None


def _json(value: Any) -> Response:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return Response(text, content_type="application/json; charset=utf-8")


async def _error(datasette: Any, request: Any, message: str, status: int) -> Response:
    """Datasette's own error page, with one line saying why (a ledger that cannot be read, a
    record that is not there)."""
    line = " ".join(message.split())
    if request.url_vars.get("format"):
        return Response.json({"ok": False, "error": line, "status": status}, status=status)
    return Response.html(await datasette.render_template(
        "error.html", {"ok": False, "error": line, "status": status,
                       "title": f"Error {status}"}, request=request), status=status)


def _showing_errors(view: Any) -> Any:
    async def shown(datasette: Any, request: Any) -> Response:
        try:
            response: Response = await view(datasette, request)
        except Missing as error:
            return await _error(datasette, request, str(error), error.status)
        except LedgerError as error:
            status = 404 if str(error).startswith("no record") else 500
            return await _error(datasette, request, str(error), status)
        return response

    return shown


async def ledger_view(datasette: Any, request: Any) -> Response:
    database, where = await _ledger(datasette, request)
    page = await the_ledger_page(where)
    if request.url_vars.get("format"):
        return _json(page.report)
    base = ledger_path(datasette, database.name)
    tables = await database.table_names()
    return Response.html(await datasette.render_template(
        "gigaledger/ledger.html",
        {"database": database.name, "page": page, "base": base, "where": where,
         "tables": [(name, datasette.urls.table(database.name, name)) for name in tables
                    if name != "snapshots" and not name.startswith("_")]},
        request=request))


async def record_view(datasette: Any, request: Any) -> Response:
    database, where = await _ledger(datasette, request)
    seq = int(request.url_vars["seq"])
    page = await the_record_page(where, seq)
    if request.url_vars.get("format"):
        return _json(page.explanation)
    base = ledger_path(datasette, database.name)
    return Response.html(await datasette.render_template(
        "gigaledger/record.html",
        {"database": database.name, "page": page, "base": base,
         "record_json": json.dumps(page.record, indent=2, ensure_ascii=False),
         "events_url": datasette.urls.row(database.name, "events", str(seq))},
        request=request))


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [
        (r"^/(?P<database>[^/]+)/-/ledger(?P<format>\.json)?$", _showing_errors(ledger_view)),
        (r"^/(?P<database>[^/]+)/-/ledger/records/(?P<seq>[0-9]+)(?P<format>\.json)?$",
         _showing_errors(record_view)),
    ]


def _link(datasette: Any, name: str) -> dict[str, str]:
    return {"href": ledger_path(datasette, name), "label": f"Ledger page of {name}"}


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> Any:
    async def links() -> list[dict[str, str]]:
        return [_link(datasette, name) for name, database in datasette.databases.items()
                if await is_ledger(database)]

    return links


@hookimpl
def database_actions(datasette: Any, actor: Any, database: str, request: Any) -> Any:
    async def links() -> list[dict[str, str]]:
        return [_link(datasette, database)] if await is_ledger(
            datasette.get_database(database)) else []

    return links


@hookimpl
def table_actions(datasette: Any, actor: Any, database: str, table: str, request: Any) -> Any:
    return database_actions(datasette, actor, database, request)
