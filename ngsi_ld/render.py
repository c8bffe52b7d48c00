"""Rendering stored entities for a response: compaction and the representations of clause 4.5.

normalized (4.5.1), concise (4.5.2.3, 4.5.3.3), keyValues / simplified (4.5.4), GeoJSON (4.5.16),
with sysAttrs (6.3.11), lang (4.15), attrs / pick / omit projection.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ngsi_ld.attributes import ATTRIBUTE_TYPES, DEFAULT_DATASET, Instances
from ngsi_ld.context import TermMap
from ngsi_ld.entity import Entity
from ngsi_ld.geojson import looks_like_geometry

__all__ = ["FORMATS", "LOCATION", "RenderOptions", "render_entity", "render_feature"]

FORMATS = ("normalized", "concise", "keyValues")
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
_SYSTEM = ("createdAt", "modifiedAt")
_VOCABULARY = ("vocab", "objectType", "previousVocab")
"""Members of an instance whose values are IRIs, compacted as names are."""
_COMPACTED = frozenset({"attrs", "objectList", *_VOCABULARY})
"""Members of an instance that rendering changes (names compacted, objectList spelled out)."""
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
    dataset_ids: frozenset[str] | None = None
    """The datasetIds of the attribute instances shown (@none: the default instance); None shows all."""
    linked: tuple[tuple[str, RenderOptions], ...] = ()
    """How the entities linked through a relationship (IRI) are rendered, for the relationships that a nested
    pick or omit names (clause 4.21)."""

    def for_linked(self, relationship: str) -> RenderOptions:
        """How the entities that `relationship` links to are rendered (linked entity retrieval, 4.5.23): as
        its nested projection says, else as these entities, without attrs and datasetId (which select
        attributes of the entities asked for)."""
        for name, options in self.linked:
            if name == relationship:
                return options
        return replace(self, attrs=None, dataset_ids=None)

    @property
    def selects_all(self) -> bool:
        """Whether every attribute is rendered (`selects` is true of any name)."""
        return self.attrs is None and self.pick is None and not self.omit

    def selects(self, name: str) -> bool:
        """Whether the attribute (IRI) is rendered."""
        if self.attrs is not None and name not in self.attrs:
            return False
        return self.keeps(name)

    def keeps(self, member: str) -> bool:
        """Whether the entity member (id, type, scope or an attribute IRI) is projected."""
        if member in self.omit:
            return False
        return self.pick is None or member in self.pick

    @property
    def shows_all(self) -> bool:
        """Whether every attribute instance is rendered (`shows` is true of any instance)."""
        return self.dataset_ids is None

    def shows(self, instance: dict[str, Any]) -> bool:
        """Whether the attribute instance is one of the datasetIds asked for (clause 4.5.5)."""
        return self.dataset_ids is None or instance.get("datasetId", DEFAULT_DATASET) in self.dataset_ids


def render_entity(entity: Entity, terms: TermMap, options: RenderOptions) -> dict[str, Any]:
    """The entity as a response shows it, with names compacted by `terms` (no @context member)."""
    out: dict[str, Any] = {}
    if options.keeps("id"):
        out["id"] = entity["id"]
    if options.keeps("type"):
        types = [terms.compact(t) for t in entity["type"]]
        out["type"] = types[0] if len(types) == 1 else types
    if "scope" in entity and options.keeps("scope"):
        out["scope"] = _one_or_many(entity["scope"])
    render = _ATTRIBUTE_RENDERERS[options.format]
    every_instance, every_attribute = options.shows_all, options.selects_all
    for name, instances in entity["attrs"].items():
        shown = instances if every_instance else [instance for instance in instances if options.shows(instance)]
        if shown and (every_attribute or options.selects(name)):
            out[terms.compact(name)] = render(shown, terms, options)
    if options.sys_attrs:
        for key in _SYSTEM:
            out[key] = entity[key]
    return out


def render_feature(entity: Entity, terms: TermMap, options: RenderOptions) -> dict[str, Any]:
    """The entity as a GeoJSON Feature (clause 4.5.16)."""
    properties = render_entity(entity, terms, options)
    properties.pop("id", None)
    return {"id": entity["id"], "type": "Feature", "geometry": _geometry(entity, options), "properties": properties}


def _geometry(entity: Entity, options: RenderOptions) -> Any:
    """The value of the selected GeoProperty (4.5.16.1): its instance of a datasetId asked for, else the default."""
    wanted = options.dataset_ids or {DEFAULT_DATASET}
    for instance in entity["attrs"].get(options.geometry_property, []):
        if instance["type"] == "GeoProperty" and instance.get("datasetId", DEFAULT_DATASET) in wanted:
            return instance["value"]
    return None


def _one_or_many(rendered: list[Any]) -> Any:
    return rendered[0] if len(rendered) == 1 else rendered


def _normalized_attribute(instances: Instances, terms: TermMap, options: RenderOptions) -> Any:
    return _one_or_many([_normalized_instance(i, terms, options) for i in instances])


def _normalized_instance(instance: dict[str, Any], terms: TermMap, options: RenderOptions) -> dict[str, Any]:
    instance = _language_chosen(instance, options)
    if _COMPACTED.isdisjoint(instance):
        if options.sys_attrs:
            return dict(instance)
        return {key: member for key, member in instance.items() if key not in _SYSTEM}
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


def _language_chosen(instance: dict[str, Any], options: RenderOptions) -> dict[str, Any]:
    """The instance, or the Property that a `lang` parameter turns a LanguageProperty into (clause 4.15)."""
    if options.lang is None or instance["type"] != "LanguageProperty":
        return instance
    tag, text = _pick_language(instance["languageMap"], options.lang)
    rest = {key: member for key, member in instance.items() if key not in ("type", "languageMap")}
    return {"type": "Property", "value": text, "lang": tag, **rest}


def _pick_language(language_map: dict[str, Any], wanted: str) -> tuple[str, Any]:
    """The language of `language_map` that a `lang` parameter selects, and its text.

    Failing every range asked for ('*' included), the @none text, else any language (clause 4.15).
    """
    for language_range in _language_ranges(wanted):
        if language_range == "*":
            break
        for tag in language_map:
            if _language_matches(tag, language_range):
                return tag, language_map[tag]
    tag = "@none" if "@none" in language_map else next(iter(language_map))
    return tag, language_map[tag]


def _language_ranges(wanted: str) -> list[str]:
    """The language ranges of a `lang` parameter, best quality first ('fr-CH,fr;q=0.9,en;q=0.8')."""
    ranked = []
    for position, item in enumerate(wanted.split(",")):
        language_range, _, params = item.partition(";")
        quality = _quality(params)
        if language_range.strip() and quality > 0:
            ranked.append((-quality, position, language_range.strip()))
    return [language_range for _, _, language_range in sorted(ranked)]


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _language_matches(tag: str, language_range: str) -> bool:
    """Whether a language tag answers a range, exactly or by the primary language (fr-CH ~ fr)."""
    tag, language_range = tag.lower(), language_range.lower()
    return tag == language_range or tag.split("-")[0] == language_range.split("-")[0]


def _compacted_member(key: str, member: Any, terms: TermMap, options: RenderOptions) -> Any:
    if key in _VOCABULARY:
        return [terms.compact(m) for m in member] if isinstance(member, list) else terms.compact(member)
    if key == "objectList" and options.format == "normalized":
        return [{"object": obj} for obj in member]
    return member


def _concise_attribute(instances: Instances, terms: TermMap, options: RenderOptions) -> Any:
    alone = len(instances) == 1
    return _one_or_many([_concise_instance(i, terms, options, alone) for i in instances])


def _concise_instance(instance: dict[str, Any], terms: TermMap, options: RenderOptions, alone: bool) -> Any:
    """One instance without its type, or only its value when that is lossless (clauses 4.5.2.3, 4.5.3.3).

    An instance in an array (multi-instance attribute) always stays an object, so that it reads back as one.
    """
    instance = _language_chosen(instance, options)
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
    if alone and list(out) == ["value"] and _stands_for_itself(instance["type"], value):
        return value
    if instance["type"] == "Property" and looks_like_geometry(value):
        out = {"type": "Property", **out}
    return out


def _stands_for_itself(attribute_type: str, value: Any) -> bool:
    """Whether a bare value reads back as this attribute type (concise input rules)."""
    if attribute_type == "GeoProperty":
        return looks_like_geometry(value)
    return attribute_type == "Property" and isinstance(value, _PRIMITIVES)


def _key_values_attribute(instances: Instances, terms: TermMap, options: RenderOptions) -> Any:
    if len(instances) == 1 and "datasetId" not in instances[0]:
        return _key_value(instances[0], terms, options)
    dataset = {i.get("datasetId", DEFAULT_DATASET): _key_value(i, terms, options) for i in instances}
    return {"dataset": dataset}


def _key_value(instance: dict[str, Any], terms: TermMap, options: RenderOptions) -> Any:
    """The simplified value of an instance (clause 4.5.4); some types keep their value member's name."""
    instance = _language_chosen(instance, options)
    key = ATTRIBUTE_TYPES[instance["type"]]
    value = _compacted_member(key, instance[key], terms, options)
    return {key: value} if key in _NAMED_IN_SIMPLIFIED else value


_NAMED_IN_SIMPLIFIED = frozenset({"languageMap", "vocab", "json"})

_ATTRIBUTE_RENDERERS = {
    "normalized": _normalized_attribute,
    "concise": _concise_attribute,
    "keyValues": _key_values_attribute,
}
