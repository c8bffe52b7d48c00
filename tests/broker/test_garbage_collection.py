"""A worker's start-up objects and the garbage collector."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from broker.app import create_app
from broker.settings import Settings


def test_the_objects_made_at_startup_are_left_out_of_full_collections(tmp_path: Path) -> None:
    """They live as long as the worker: a full collection that walked them took 100 to 190 ms of its time."""
    async def started() -> int:
        app = create_app(Settings(data_dir=tmp_path))
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    gc.unfreeze()
    try:
        assert asyncio.run(started()) > 10_000
    finally:
        gc.unfreeze()
