"""Fixtures of the fuzz tests: one broker process on SQLite that they share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BrokerProcess


@pytest.fixture(scope="session")
def fuzzed_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker of the fuzz tests' own on SQLite (what they send may be anything: other tests do not see it),
    with a small body limit so that large random bodies stay quick."""
    env = {"SCIFI_MAX_BODY_BYTES": "100000"}
    process = BrokerProcess(tmp_path_factory.mktemp("fuzzed-broker"), env=env).start()
    yield process
    process.stop()
