"""The built-in domain, as ordinary plugins: the event catalogue, the projections, and what the
domain adds to explanations, materialized tables and charts. ``PLUGINS`` lists the modules the
ledger loads as built-in plugins (unless ``Ledger.open(..., builtins=False)``)."""

PLUGINS = (
    "ledger.default_plugins.catalogue",
    "ledger.default_plugins.investment",
    "ledger.default_plugins.gpu_inventory",
    "ledger.default_plugins.provider_mix",
    "ledger.default_plugins.pipeline",
    "ledger.default_plugins.explanations",
    "ledger.default_plugins.materialized",
    "ledger.default_plugins.chart",
)
