"""The Datasette hooks: the routes of the ledger page and the record pages, and the links to
the ledger page from Datasette's own pages (the menu, a ledger's database and table pages).

Routes, for a ledger database served at ``/DB``:

- ``/DB/-/ledger``: the ledger page; ``/DB/-/ledger.json``: the report, as ``report --json``;
- ``/DB/-/ledger/records/SEQ``: a record page; ``.json``: as ``explain --json``.

Any other address under ``/DB/-/ledger`` is a 404 that says which pages there are (a trailing
slash is redirected away, as Datasette does for its own pages). The pages need no JavaScript.
They follow Datasette's permissions (``view-instance`` and ``view-database``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Generator
from typing import Any
from urllib.parse import unquote

from datasette import hookimpl
from datasette.utils import await_me_maybe, tilde_decode
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


async def _database(datasette: Any, request: Any) -> Any:
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
    return database


async def _ledger(datasette: Any, request: Any) -> tuple[Any, Source]:
    """The ledger database the request names, and how to open it."""
    database = await _database(datasette, request)
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


async def no_record_view(datasette: Any, request: Any) -> Response:
    """``/DB/-/ledger/records/KEY`` where KEY is not a seq: a 404 that says what a record page
    is."""
    database = await _database(datasette, request)
    held = (await database.execute("SELECT coalesce(max(seq), 0) FROM events")).first()[0]
    raise Missing(f"no record {unquote(request.url_vars['key'])!r}: a record page is "
                  f"{ledger_path(datasette, database.name)}/records/SEQ (the log holds {held:,})")


async def no_page_view(datasette: Any, request: Any) -> Response:
    """Any other address under ``/DB/-/ledger``: a 404 that names the pages there are (without
    its trailing slash, the address is redirected to, as Datasette does)."""
    if request.path.endswith("/"):
        query = f"?{request.query_string}" if request.query_string else ""
        return Response.redirect(request.path.rstrip("/") + query)
    base = ledger_path(datasette, (await _database(datasette, request)).name)
    raise Missing(f"no page {request.path}: the ledger page is {base} and a record page "
                  f"{base}/records/SEQ (each also as .json)")


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    # Tried in order: the pages, then the 404s of every other address under /DB/-/ledger
    return [
        (r"^/(?P<database>[^/]+)/-/ledger(?P<format>\.json)?$", _showing_errors(ledger_view)),
        (r"^/(?P<database>[^/]+)/-/ledger/records/(?P<seq>[0-9]+)(?P<format>\.json)?$",
         _showing_errors(record_view)),
        (r"^/(?P<database>[^/]+)/-/ledger/records/(?P<key>[^/]+?)(?P<format>\.json)?$",
         _showing_errors(no_record_view)),
        (r"^/(?P<database>[^/]+)/-/ledger[./].*?(?P<format>\.json)?$",
         _showing_errors(no_page_view)),
    ]


@hookimpl(wrapper=True)
def handle_exception(datasette: Any, request: Any,
                     exception: Exception) -> Generator[None, list[Any], list[Any]]:
    """Datasette's error handlers, run as if ``exception`` were being handled.

    For an address none of its routes takes, Datasette 0.65 hands its error handlers a NotFound
    that was never raised, outside any ``except`` block; its own handler prints the exception
    with rich where rich is installed, and rich refuses to print one that is not being handled
    (``ValueError: Value for 'trace' required if not called in except: block``): the 404 became
    a 500, and a traceback in the server's terminal. Changes nothing when an exception is being
    handled."""
    handlers = yield
    if sys.exc_info()[0] is not None:
        return handlers
    return [_while_handling(exception, handler) for handler in handlers]


def _while_handling(exception: Exception, handler: Any) -> Any:
    async def handled() -> Any:
        try:  # Datasette's handlers expect the exception being handled (rich prints it)
            raise exception
        except type(exception):
            return await await_me_maybe(handler)

    return handled


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
