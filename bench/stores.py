"""The store a benchmark runs on (`--store`): SQLite in a temporary folder, or MongoDB.

For MongoDB, a benchmark uses the server of MONGODB_URL (and drops its `scifi*` databases before and after,
as the tests do), or else starts SecantusDB on a free loopback port. SecantusDB is a MongoDB wire-protocol
server written in Python for tests: figures measured on it are only indicative of the broker's own cost, not
of what a production MongoDB gives.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port
from tests.mongodb import SecantusServer, drop_test_databases, given_url

__all__ = ["STORES", "add_store_option", "store_label", "store_url"]

STORES = ("sqlite", "mongodb")


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", choices=STORES, default="sqlite",
                        help="the store to measure: sqlite (default), or mongodb (MONGODB_URL, else SecantusDB)")


def store_label(kind: str) -> str:
    """What the figures were measured on, to print above them."""
    if kind == "sqlite":
        return "store: SQLite"
    if given_url() is not None:
        return "store: MongoDB at MONGODB_URL"
    return "store: MongoDB API on SecantusDB (a Python test server: figures only indicative)"


@contextmanager
def store_url(kind: str) -> Iterator[str]:
    """The URL of an empty store of the kind (SCIFI_STORE, or open_store's argument), for the benchmark's run."""
    with tempfile.TemporaryDirectory() as directory:
        if kind == "sqlite":
            yield f"sqlite://{directory}"
            return
        url = given_url()
        if url is not None:
            drop_test_databases(url)
            try:
                yield url
            finally:
                drop_test_databases(url)
            return
        with SecantusServer(Path(directory), free_port()) as server:
            yield server.url
