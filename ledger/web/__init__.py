"""The Datasette plugin (``pip install 'gigaledger[web]'``): for every gigaledger database that
Datasette serves, a ledger page (the head, the verification, every projection's report, the
charts, the latest records) and a page per record (its causes, effects and what the plugins say
of it), linked from Datasette's own pages. Registered in Datasette's ``datasette`` entry-point
group; ``gigaledger serve LEDGER.db`` starts Datasette with it.

``blocks`` reads the text report back into tables, ``pages`` builds what the pages show from a
Ledger, ``ledgers`` finds and opens the ledgers Datasette serves, and ``hooks`` holds Datasette's
hooks; the templates are in ``templates/gigaledger/``.
"""

from .hooks import database_actions, handle_exception, menu_links, register_routes, table_actions

__all__ = ["database_actions", "handle_exception", "menu_links", "register_routes",
           "table_actions"]
