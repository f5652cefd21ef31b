"""Private building blocks of :mod:`creditcore.pricing`; import from the public face instead."""
