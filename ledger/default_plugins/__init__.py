"""The built-in domain, as ordinary plugins: the event catalogue and the three projections."""
