"""How the MongoDB store keeps an entity: one document per entity in the collection `entities` of the tenant's
database, holding the entity itself and what queries look up, all derived from it; and one document per
GeoProperty instance in the collection `geometries`.

- `_id`: the entity id; `seq`: its creation order (a counter per tenant), which pages follow;
- `doc`: the stored entity as JSON text (attribute names are IRIs, whose dots MongoDB field names avoid);
- `modifiedAt`: the entity's modifiedAt;
- `types`: its type IRIs;
- `vals`: one element per value row of `ngsi_ld.query.targets.entity_rows` (the rows the SQLite store keeps in
  its table attr_values): `p` path, `k` kind, `v` value, `i` instance, `r` whether it is a relationship's;

A geometry is `e` the entity id, `p` the GeoProperty's IRI and `g` its GeoJSON value: a top-level field, which
every server's 2dsphere index keys and `$geoNear` measures, one GeoProperty at a time.

The other collections: `meta` (the tenant's name, counters), `subscriptions`, `changes` and `notifications`
(mongo_subscriptions); and, in the default tenant's database only, `leases` (the notifier's, mongo.py) and
`contexts`, the @contexts the broker keeps for every tenant (mongo_contexts: `_id` the local id, `kind`
Hosted / ImplicitlyCreated / Cached, `url` of a Cached one, `createdAt`, `doc` the JSON-LD document as JSON
text), whose version is the counter `meta/contexts`.
"""

from __future__ import annotations

from typing import Any

import orjson

from ngsi_ld.entity import Entity
from ngsi_ld.query.targets import entity_rows

__all__ = ["entity_document", "geometry_documents"]


def entity_document(entity: Entity, seq: int) -> dict[str, Any]:
    """The MongoDB document of an entity created as the `seq`-th of its tenant."""
    return {
        "_id": entity["id"],
        "seq": seq,
        "doc": orjson.dumps(entity).decode(),
        "modifiedAt": entity["modifiedAt"],
        "types": entity["type"],
        "vals": [{"p": row.path, "k": row.kind, "v": row.value, "i": row.instance, "r": row.relationship}
                 for row in entity_rows(entity)],
    }


def geometry_documents(entity: Entity) -> list[dict[str, Any]]:
    """The documents of the entity's GeoProperty instances in the collection `geometries`."""
    return [{"e": entity["id"], "p": name, "g": instance["value"]}
            for name, instances in entity["attrs"].items() for instance in instances
            if instance["type"] == "GeoProperty"]
