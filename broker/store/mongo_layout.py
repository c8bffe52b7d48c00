"""How the MongoDB store keeps an entity: one document per entity in the collection `entities` of the tenant's
database, holding the entity itself and what queries look up, all derived from it; and one document per
GeoProperty instance in the collection `geometries`.

- `_id`: the entity id; `seq`: its creation order (a counter per tenant, taken outside the write's transaction
  so that concurrent creates do not conflict on it: unique and increasing, with gaps), which pages follow;
- `doc`: the stored entity as JSON text (attribute names are IRIs, whose dots MongoDB field names avoid);
- `modifiedAt`: the entity's modifiedAt;
- `types`: its type IRIs;
- `vals`: one element per value row of `ngsi_ld.query.targets.entity_rows` (the rows the SQLite store keeps in
  its table attr_values): `p` path, `k` kind, `v` value, `i` instance, `r` whether it is a relationship's, and
  `x` the row's key (`row_key`): path, kind and value in one string that sorts as the values do, which one
  single-field index keys once per row (a compound index over p, k and v would be keyed, on servers that
  key the fields of an array by their cross product, by rows squared).

A geometry is `e` the entity id, `p` the GeoProperty's IRI and `g` its GeoJSON value: a top-level field, which
every server's 2dsphere index keys. A multi-part geometry is kept as its parts (not every server indexes the
multi-part types), and a part that a 2dsphere index may refuse (a polygon whose edges cross, repeated vertices,
a ring wider than a hemisphere) as `u: true` in place of `g`: such an entity is a candidate of every geo-query
on that GeoProperty, which the broker then decides.

The other collections: `meta` (the tenant's name, counters), `subscriptions`, `changes` and `notifications`
(mongo_subscriptions); and, in the default tenant's database only, `leases` (the notifier's, mongo.py) and
`contexts`, the @contexts the broker keeps for every tenant (mongo_contexts: `_id` the local id, `kind`
Hosted / ImplicitlyCreated / Cached, `url` of a Cached one, `createdAt`, `doc` the JSON-LD document as JSON
text), whose version is the counter `meta/contexts`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import orjson
import shapely.geometry

from ngsi_ld.entity import Entity
from ngsi_ld.query.targets import entity_rows

__all__ = ["KEY_SEPARATOR", "entity_document", "geometry_documents", "row_key"]

KEY_SEPARATOR = "\x00"
_ALL_BITS = (1 << 64) - 1
_SIGN_BIT = 1 << 63


def entity_document(entity: Entity, seq: int) -> dict[str, Any]:
    """The MongoDB document of an entity created as the `seq`-th of its tenant."""
    return {
        "_id": entity["id"],
        "seq": seq,
        "doc": orjson.dumps(entity).decode(),
        "modifiedAt": entity["modifiedAt"],
        "types": entity["type"],
        "vals": [{"p": row.path, "k": row.kind, "v": row.value, "i": row.instance, "r": row.relationship,
                  "x": row_key(row.path, row.kind, row.value)} for row in entity_rows(entity)],
    }


def geometry_documents(entity: Entity) -> list[dict[str, Any]]:
    """The documents of the entity's GeoProperty instances in the collection `geometries`."""
    return [{"e": entity["id"], "p": name, **({"g": part} if _indexable(part) else {"u": True})}
            for name, instances in entity["attrs"].items() for instance in instances
            if instance["type"] == "GeoProperty" for part in _parts(instance["value"])]


_PART_TYPES = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}


def _parts(geometry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if geometry["type"] == "GeometryCollection":
        for member in geometry["geometries"]:
            yield from _parts(member)
    elif geometry["type"] in _PART_TYPES:
        yield from ({"type": _PART_TYPES[geometry["type"]], "coordinates": c} for c in geometry["coordinates"])
    else:
        yield geometry


def _indexable(part: dict[str, Any]) -> bool:
    """Whether every 2dsphere index takes the part: a point; a line or polygon without repeated vertices, whose
    rings are valid and less than a hemisphere wide."""
    if part["type"] == "Point":
        return True
    lines = [part["coordinates"]] if part["type"] == "LineString" else part["coordinates"]
    if any(a[:2] == b[:2] for line in lines for a, b in zip(line, line[1:])):
        return False
    shape = shapely.geometry.shape(part)
    min_x, min_y, max_x, max_y = shape.bounds
    return bool(shape.is_valid) and max_x - min_x < 180 and max_y - min_y < 90


def row_key(path: str, kind: str, value: Any) -> str:
    """`path`, `kind` and the value, separated by NUL characters, the value written so that keys of one path and
    kind sort as their values do: strings as they are (BSON compares them by code point, as Python does), a
    boolean as 0 or 1, a number as the 16 hex digits of its double with the order of the numbers. Two numbers
    that are one double share a key: the key bounds a query's scan, the value `v` decides."""
    return f"{path}{KEY_SEPARATOR}{kind}{KEY_SEPARATOR}{_sortable(kind, value)}"


def _sortable(kind: str, value: Any) -> str:
    if kind == "number":
        bits: int = struct.unpack(">Q", struct.pack(">d", float(value) + 0.0))[0]  # + 0.0: -0.0 is 0.0
        return f"{bits ^ _ALL_BITS if bits & _SIGN_BIT else bits | _SIGN_BIT:016x}"
    if kind == "bool":
        return "1" if value else "0"
    return str(value)
