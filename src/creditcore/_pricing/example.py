"""The example catalog shipped with the package (the seed figures)."""

from __future__ import annotations

from importlib.resources import files

from creditcore._pricing.catalog import Catalog
from creditcore._pricing.loading import loads_catalog

__all__ = ["EXAMPLE_RESOURCE", "example_catalog", "example_catalog_text"]

EXAMPLE_RESOURCE = "example_catalog.toml"
"""File name of the example catalog inside ``creditcore._pricing``."""


def example_catalog_text() -> str:
    """The example catalog's TOML source, comments included."""
    return files("creditcore._pricing").joinpath(EXAMPLE_RESOURCE).read_text(encoding="utf-8")


def example_catalog() -> Catalog:
    """The shipped example catalog: seed operations, four tiers, the Studio Pack, two offers."""
    return loads_catalog(example_catalog_text(), "toml", source=f"creditcore:{EXAMPLE_RESOURCE}")
