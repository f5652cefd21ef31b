"""Private modules of :mod:`creditcore.ledger` (one idea each); import from the public face."""
