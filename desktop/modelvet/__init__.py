"""ModelVet: choose a large language model your organisation may run, and prove it."""

__version__ = "0.1.0"
