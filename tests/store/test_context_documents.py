"""The @contexts each store keeps (ContextDocuments): the same contract on the files of the embedded store and the
collection of MongoDB, and the version that tells the other processes of a deletion or a replacement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from broker.store import CACHED, HOSTED, IMPLICIT, ContextDocuments, StoredContext, open_store

T = TypeVar("T")

DOCUMENT = {"@context": {"a.b": "https://example.org/a.b", "$c": {"@id": "https://example.org/c"}}}
"""Terms with a dot and a '$', which MongoDB field names avoid."""


def run(store_url: str, data_dir: Path, scenario: Callable[[ContextDocuments], Awaitable[T]]) -> T:
    async def opened() -> T:
        store = open_store(store_url)
        await store.open()
        try:
            return await scenario(store.context_documents(data_dir))
        finally:
            await store.aclose()
    return asyncio.run(opened())


async def changed(documents: ContextDocuments, before: object) -> bool:
    return await documents.version() != before


async def tick() -> None:
    """Lets the clock move on: a directory's modification time is as coarse as the kernel's clock tick."""
    await asyncio.sleep(0.02)


def test_contexts_are_added_read_listed_replaced_and_deleted(store_url: str, tmp_path: Path) -> None:
    hosted = StoredContext("0" * 32, HOSTED, "2026-01-01T00:00:01Z", document=DOCUMENT)
    implicit = StoredContext("1" * 32, IMPLICIT, "2026-01-01T00:00:02Z", document=DOCUMENT)
    cached = StoredContext("2" * 64, CACHED, "2026-01-01T00:00:00Z", "https://example.org/c.jsonld", DOCUMENT)

    async def scenario(documents: ContextDocuments) -> None:
        assert await documents.add(implicit) and await documents.add(hosted)
        assert not await documents.add(StoredContext("1" * 32, IMPLICIT, "2026-01-01T00:00:09Z", document={}))
        await documents.put(cached)
        assert await documents.get("1" * 32) == implicit  # kept as it was first added
        assert await documents.get("2" * 64) == cached
        assert await documents.get("3" * 32) is None
        listed = await documents.all()
        assert [stored.local_id for stored in listed] == ["2" * 64, "0" * 32, "1" * 32]  # oldest first
        assert listed[0] == StoredContext("2" * 64, CACHED, cached.created_at, cached.url)  # without the document

        version = await documents.version()
        await tick()
        reloaded = StoredContext("2" * 64, CACHED, cached.created_at, cached.url, {"@context": {"x": "urn:x"}})
        await documents.put(reloaded)
        assert await documents.get("2" * 64) == reloaded
        assert await changed(documents, version)

        version = await documents.version()
        await tick()
        assert await documents.delete("0" * 32) and await documents.delete("2" * 64)
        assert not await documents.delete("0" * 32)
        assert await documents.get("0" * 32) is None and await documents.get("2" * 64) is None
        assert [stored.local_id for stored in await documents.all()] == ["1" * 32]
        assert await changed(documents, version)
    run(store_url, tmp_path, scenario)


def test_the_processes_of_a_store_share_its_contexts(store_url: str, tmp_path: Path) -> None:
    """Two stores on one URL and one data directory, as two processes: what one keeps, the other reads."""
    hosted = StoredContext("4" * 32, HOSTED, "2026-01-01T00:00:00Z", document=DOCUMENT)

    async def scenario(one: ContextDocuments) -> None:
        other_store = open_store(store_url)
        await other_store.open()
        try:
            other = other_store.context_documents(tmp_path)
            await one.add(hosted)
            assert await other.get(hosted.local_id) == hosted
            version = await other.version()
            await tick()
            assert await one.delete(hosted.local_id)
            assert await other.get(hosted.local_id) is None and await changed(other, version)
        finally:
            await other_store.aclose()
    run(store_url, tmp_path, scenario)
