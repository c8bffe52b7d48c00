"""A MongoDB database for the store-level query tests (SecantusDB unless MONGODB_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo.database import Database

from tests.store.mongo import Document, mongo_database


@pytest.fixture(scope="session")
def mongo() -> Iterator[Database[Document]]:
    with mongo_database("scifi_query_tests") as database:
        yield database
