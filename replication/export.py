"""`scifi pilot export`: a pilot package of the entities of some types in a broker, streamed page by page into
the zip file, with the subscriptions that watch those types and the @context documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from replication.contexts import context_documents
from replication.package import PackageWriter
from replication.report import Report
from replication.sources import BrokerSource

__all__ = ["export_pilot"]


async def export_pilot(source: BrokerSource, path: Path, report: Report, *, page_size: int = 500,
                       subscriptions: bool = False) -> dict[str, Any]:
    """Writes the package; its manifest."""
    broker = source.broker
    documents = await context_documents(broker.context) if broker.context else {}
    writer = PackageWriter(path)
    try:
        for entity_type in source.types:
            total = await source.count(entity_type)
            report.start(entity_type, total, 0)
            sink = writer.entities(entity_type)
            async for page in source.pages(entity_type, 0, page_size, total):
                for entity in page:
                    sink.write(entity)
                report.advance(entity_type, len(page))
            report.finish(entity_type)
        if subscriptions:
            sink = writer.ndjson("subscriptions.ndjson")
            for subscription in await source.subscriptions():
                sink.write(subscription)
        names = {url: f"contexts/{number}.jsonld" for number, url in enumerate(documents)}
        for url, name in names.items():
            writer.document(name, orjson.dumps(orjson.loads(documents[url]), option=orjson.OPT_INDENT_2))
        return writer.close({"source": {"broker": broker.root, "tenant": broker.tenant},
                             "types": source.types, "q": source.q, "@context": broker.context,
                             "contexts": names})
    except BaseException:
        writer.abandon()
        raise
