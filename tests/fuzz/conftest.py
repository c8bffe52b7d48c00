"""Fixtures of the fuzz tests: one broker process on SQLite for the module that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BrokerProcess


@pytest.fixture(scope="module")
def fuzzed_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker of the module's own on SQLite, with small limits so that large random inputs stay quick."""
    env = {"SCIFI_MAX_BODY_BYTES": "100000"}
    process = BrokerProcess(tmp_path_factory.mktemp("fuzzed-broker"), env=env).start()
    yield process
    process.stop()
