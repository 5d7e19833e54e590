"""The bundled, sourced model catalog."""

from modelvet.engine.catalog.loader import Catalog, Problem, bundled_catalog, load_catalog

__all__ = ["Catalog", "Problem", "bundled_catalog", "load_catalog"]
