"""Rendering stored entities for a response: compaction and the representations of clause 4.5.

normalized (4.5.1), concise (4.5.2.3, 4.5.3.3), keyValues / simplified (4.5.4), GeoJSON (4.5.16),
with sysAttrs (6.3.11), lang (4.15), attrs / pick / omit projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ngsi_ld.attributes import ATTRIBUTE_TYPES, Instances
from ngsi_ld.context import TermMap
from ngsi_ld.entity import Entity
from ngsi_ld.geojson import looks_like_geometry

__all__ = ["FORMATS", "LOCATION", "RenderOptions", "render_entity", "render_feature"]

FORMATS = ("normalized", "concise", "keyValues")
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
_SYSTEM = ("createdAt", "modifiedAt")
_PRIMITIVES = (str, int, float, bool)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How entities are rendered; attribute names here are expanded IRIs."""

    format: str = "normalized"
    sys_attrs: bool = False
    lang: str | None = None
    attrs: frozenset[str] | None = None
    pick: frozenset[str] | None = None
    omit: frozenset[str] = frozenset()
    geometry_property: str = LOCATION

    def keeps(self, member: str) -> bool:
        """Whether the entity member (id, type, scope or an attribute IRI) is projected."""
        if member in self.omit:
            return False
        return self.pick is None or member in self.pick


def render_entity(entity: Entity, terms: TermMap, options: RenderOptions) -> dict[str, Any]:
    """The entity as a response shows it, with names compacted by `terms` (no @context member)."""
    out: dict[str, Any] = {}
    if options.keeps("id"):
        out["id"] = entity["id"]
    if options.keeps("type"):
        types = [terms.compact(t) for t in entity["type"]]
        out["type"] = types[0] if len(types) == 1 else types
    if "scope" in entity and options.keeps("scope"):
        scope = entity["scope"]
        out["scope"] = scope[0] if len(scope) == 1 and options.format != "normalized" else scope
    render = _ATTRIBUTE_RENDERERS[options.format]
    for name, instances in entity["attrs"].items():
        if _selected(name, options):
            out[terms.compact(name)] = render(instances, terms, options)
    if options.sys_attrs and options.format != "keyValues":
        for key in _SYSTEM:
            out[key] = entity[key]
    return out


def render_feature(entity: Entity, terms: TermMap, options: RenderOptions) -> dict[str, Any]:
    """The entity as a GeoJSON Feature (clause 4.5.16)."""
    properties = render_entity(entity, terms, options)
    properties.pop("id", None)
    geometry = None
    for instance in entity["attrs"].get(options.geometry_property, []):
        if instance["type"] == "GeoProperty" and "datasetId" not in instance:
            geometry = instance["value"]
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}


def _selected(name: str, options: RenderOptions) -> bool:
    if options.attrs is not None and name not in options.attrs:
        return False
    return options.keeps(name)


def _one_or_many(rendered: list[Any]) -> Any:
    return rendered[0] if len(rendered) == 1 else rendered


def _normalized_attribute(instances: Instances, terms: TermMap, options: RenderOptions) -> Any:
    return _one_or_many([_normalized_instance(i, terms, options) for i in instances])


def _normalized_instance(instance: dict[str, Any], terms: TermMap, options: RenderOptions) -> dict[str, Any]:
    if options.lang is not None and instance["type"] == "LanguageProperty":
        return _language_as_property(instance, terms, options)
    out: dict[str, Any] = {}
    for key, member in instance.items():
        if key == "attrs":
            for sub_name, sub_instances in member.items():
                out[terms.compact(sub_name)] = _normalized_attribute(sub_instances, terms, options)
        elif key in _SYSTEM:
            if options.sys_attrs:
                out[key] = member
        else:
            out[key] = _compacted_member(key, member, terms, options)
    return out


def _language_as_property(instance: dict[str, Any], terms: TermMap, options: RenderOptions) -> dict[str, Any]:
    tag, text = _pick_language(instance["languageMap"], options.lang or "")
    rest = {k: v for k, v in instance.items() if k not in ("type", "languageMap")}
    out: dict[str, Any] = {"type": "Property", "value": text, "lang": tag}
    out.update(_normalized_instance({"type": "Property", **rest}, terms, options))
    out["type"] = "Property"
    out["value"] = text
    return out


def _pick_language(language_map: dict[str, Any], wanted: str) -> tuple[str, Any]:
    """The language of `language_map` that a `lang` parameter (clause 4.15) selects, and its text."""
    for tag in (t.strip() for t in wanted.split(",")):
        tag = tag.split(";")[0]
        if tag == "*":
            break
        if tag in language_map:
            return tag, language_map[tag]
        for key in language_map:
            if key.lower().split("-")[0] == tag.lower().split("-")[0]:
                return key, language_map[key]
    if "@none" in language_map:
        return "@none", language_map["@none"]
    first = next(iter(language_map))
    return first, language_map[first]


def _compacted_member(key: str, member: Any, terms: TermMap, options: RenderOptions) -> Any:
    if key in ("vocab", "objectType"):
        return [terms.compact(m) for m in member] if isinstance(member, list) else terms.compact(member)
    if key == "objectList" and options.format == "normalized":
        return [{"object": obj} for obj in member]
    return member


def _concise_attribute(instances: Instances, terms: TermMap, options: RenderOptions) -> Any:
    return _one_or_many([_concise_instance(i, terms, options) for i in instances])


def _concise_instance(instance: dict[str, Any], terms: TermMap, options: RenderOptions) -> Any:
    if options.lang is not None and instance["type"] == "LanguageProperty":
        return _concise_instance(_language_as_property(instance, terms, options), terms, options)
    out: dict[str, Any] = {}
    for key, member in instance.items():
        if key == "attrs":
            for sub_name, sub_instances in member.items():
                out[terms.compact(sub_name)] = _concise_attribute(sub_instances, terms, options)
        elif key in _SYSTEM:
            if options.sys_attrs:
                out[key] = member
        elif key != "type":
            out[key] = _compacted_member(key, member, terms, options)
    value = out.get("value")
    if instance["type"] == "Property":
        if list(out) == ["value"] and isinstance(value, _PRIMITIVES):
            return value
        if looks_like_geometry(value):
            out = {"type": "Property", **out}
    return out


def _key_values_attribute(instances: Instances, terms: TermMap, options: RenderOptions) -> Any:
    if len(instances) == 1 and "datasetId" not in instances[0]:
        return _key_value(instances[0], terms, options)
    dataset = {i.get("datasetId", "@none"): _key_value(i, terms, options) for i in instances}
    return {"dataset": dataset}


def _key_value(instance: dict[str, Any], terms: TermMap, options: RenderOptions) -> Any:
    attribute_type = instance["type"]
    key = ATTRIBUTE_TYPES[attribute_type]
    if attribute_type == "LanguageProperty":
        if options.lang is not None:
            return _pick_language(instance[key], options.lang)[1]
        return {"languageMap": instance[key]}
    return _compacted_member(key, instance[key], terms, options)


_ATTRIBUTE_RENDERERS = {
    "normalized": _normalized_attribute,
    "concise": _concise_attribute,
    "keyValues": _key_values_attribute,
}
