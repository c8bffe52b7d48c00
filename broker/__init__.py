"""The SCIFI broker: the NGSI-LD API over HTTP, its stores and its command line."""

__version__ = "0.1.0"

__all__ = ["__version__"]
