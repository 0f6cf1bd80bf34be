"""Commands about what is loaded rather than about a ledger: the event types and the plugins."""

from __future__ import annotations

from typing import Any

import click

from ..event import field_infos
from ..figures import show
from ..tables import render_plugins, table
from .base import cli, json_option, plugin_host, plugin_option, print_json


@cli.command()
@plugin_option
@json_option
def types(plugins: tuple[str, ...], as_json: bool) -> None:
    """List every event type: its fields, their kinds, which are required, and the plugin that
    registers it.

    \b
    Example: gigaledger types --plugin plugins/power_cost.py
    """
    host = plugin_host(plugins)
    catalogue: list[dict[str, Any]] = []
    for name, cls in sorted(host.event_types.items()):
        catalogue.append({
            "type": name,
            "plugin": host.type_owners[name],
            "stream": cls.stream_template or name,
            "description": " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
                           .replace("``", ""),
            "fields": [{"name": f.name, "kind": f.kind, "required": f.required,
                        "default": f.default, "choices": list(f.choices) if f.choices else None}
                       for f in field_infos(cls)],
        })
    if as_json:
        print_json({"types": catalogue})
        return
    blocks = []
    for entry in catalogue:
        rows = [[f["name"], f["kind"] + (f" ({' | '.join(f['choices'])})" if f["choices"] else ""),
                 "required" if f["required"] else f"optional, default {show(f['default'])}"]
                for f in entry["fields"]]
        blocks.append(f"{entry['type']}  (plugin {entry['plugin']}, stream {entry['stream']})\n"
                      f"  {entry['description']}\n" + table(rows, ["field", "kind", "required"]))
    click.echo("\n\n".join(blocks))


@cli.command()
@plugin_option
@json_option
def plugins(plugins: tuple[str, ...], as_json: bool) -> None:
    """List the loaded plugins, where each came from, and its hooks."""
    infos = plugin_host(plugins).info()
    if as_json:
        print_json({"plugins": [
            {"name": i.name, "source": i.source, "from": i.detail, "hooks": list(i.hooks)}
            for i in infos
        ]})
    else:
        click.echo(render_plugins(infos))
