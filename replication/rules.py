"""Rewrite rules: what changes between the city a pilot comes from and the city it goes to.

One rule per `--rewrite` (or per line of a file given as `--rewrite @FILE`, `#` starts a comment):

    mechelen=delft                      the city token of ids: urn:ngsi-ld:<Type>:mechelen:<local> -> ...:delft:...
    id:REGEX=>REPLACEMENT               any id that REGEX finds (re.sub; \\1 names a group)
    drop:ATTR[.member...]               leave an attribute (or a member of its JSON object value) out
    set:ATTR[.member...]=VALUE          set the value of an attribute (or a member of its JSON object value) that
                                        the entity has (it adds none); VALUE is JSON, else text
    shift:ATTR=DLON,DLAT                move every coordinate of a GeoProperty by an offset in degrees
    endpoint:OLD=>NEW                   subscription endpoints starting with OLD start with NEW instead

Id rules apply in order to entity ids, subscription ids, and to every Relationship and ListRelationship
object, at every level (sub-attributes included), that points at an entity of the copy; objects that point
outside the copy keep their value and are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ngsi_ld.attributes import ATTRIBUTE_TYPES, VALUE_KEYS
from replication.errors import RuleError

__all__ = ["Rewritten", "Rules", "attribute_instances", "parse_rules", "relationship_objects"]

_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class IdRule:
    pattern: re.Pattern[str]
    replacement: str

    def apply(self, value: str) -> str:
        return self.pattern.sub(self.replacement, value)


@dataclass(frozen=True, slots=True)
class DropRule:
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetRule:
    path: tuple[str, ...]
    value: Any


@dataclass(frozen=True, slots=True)
class ShiftRule:
    attribute: str
    offset: tuple[float, float]


@dataclass(frozen=True, slots=True)
class EndpointRule:
    old: str
    new: str


@dataclass(slots=True)
class Rewritten:
    """An entity after the rules, with what happened to its relationships: (attribute path, old, new) of
    each rewritten object, and (attribute path, object) of each object that points outside the copy."""

    entity: dict[str, Any]
    relationships: list[tuple[str, str, str]] = field(default_factory=list)
    outside: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rules:
    ids: tuple[IdRule, ...] = ()
    attributes: tuple[DropRule | SetRule | ShiftRule, ...] = ()
    endpoints: tuple[EndpointRule, ...] = ()
    text: tuple[str, ...] = ()
    """The rules as given, for the state file (a resumed run must use the same rules)."""

    def new_id(self, value: str) -> str:
        for rule in self.ids:
            value = rule.apply(value)
        return value

    def entity(self, entity: dict[str, Any], inside: Callable[[str], bool]) -> Rewritten:
        """The entity with its id, relationships and attributes rewritten (a new dict; `entity` is kept).
        `inside(id)` says whether an id is one of an entity of the copy."""
        copied: dict[str, Any] = orjson.loads(orjson.dumps(entity))
        result = Rewritten(copied)
        copied["id"] = self.new_id(entity["id"])
        for name, value in list(copied.items()):
            if name not in ("id", "type", "scope", "@context"):
                self._relationships(name, value, inside, result)
        for rule in self.attributes:
            _apply_attribute_rule(copied, rule)
        return result

    def _relationships(self, path: str, value: Any, inside: Callable[[str], bool], result: Rewritten) -> None:
        for instance in attribute_instances(value):
            kind = instance.get("type")
            if kind == "Relationship" and "object" in instance:
                instance["object"] = self._objects(path, instance["object"], inside, result)
            elif kind == "ListRelationship" and isinstance(instance.get("objectList"), list):
                instance["objectList"] = [
                    {**item, "object": self._objects(path, item.get("object"), inside, result)}
                    if isinstance(item, dict) else self._objects(path, item, inside, result)
                    for item in instance["objectList"]]
            for name, member in instance.items():
                if name not in VALUE_KEYS and name != "type":
                    self._relationships(f"{path}.{name}", member, inside, result)

    def _objects(self, path: str, objects: Any, inside: Callable[[str], bool], result: Rewritten) -> Any:
        if isinstance(objects, list):
            return [self._objects(path, item, inside, result) for item in objects]
        if not isinstance(objects, str):
            return objects
        if not inside(objects):
            result.outside.append((path, objects))
            return objects
        new = self.new_id(objects)
        if new != objects:
            result.relationships.append((path, objects, new))
        return new

    def subscription(self, subscription: dict[str, Any], inside: Callable[[str], bool]) -> dict[str, Any]:
        """The subscription with its id, the ids it watches (those of the copy) and its endpoint rewritten."""
        copied: dict[str, Any] = orjson.loads(orjson.dumps(subscription))
        if isinstance(copied.get("id"), str):
            copied["id"] = self.new_id(copied["id"])
        for selector in copied.get("entities") or []:
            if isinstance(selector, dict) and isinstance(selector.get("id"), str) and inside(selector["id"]):
                selector["id"] = self.new_id(selector["id"])
        endpoint = (copied.get("notification") or {}).get("endpoint") or {}
        uri = endpoint.get("uri")
        for rule in self.endpoints:
            if isinstance(uri, str) and uri.startswith(rule.old):
                uri = endpoint["uri"] = rule.new + uri[len(rule.old):]
        return copied


def attribute_instances(value: Any) -> Iterator[dict[str, Any]]:
    """The instances of an attribute in normalized form (one, or a list of them with datasetIds)."""
    for instance in value if isinstance(value, list) else [value]:
        if isinstance(instance, dict) and instance.get("type") in ATTRIBUTE_TYPES:
            yield instance


def relationship_objects(entity: dict[str, Any]) -> Iterator[str]:
    """Every object of the entity's Relationships and ListRelationships, sub-attributes included."""
    for name, value in entity.items():
        if name not in ("id", "type", "scope", "@context"):
            yield from _objects_of(value)


def _objects_of(value: Any) -> Iterator[str]:
    for instance in attribute_instances(value):
        objects: Any = []
        if instance["type"] == "Relationship":
            objects = instance.get("object")
        elif instance["type"] == "ListRelationship" and isinstance(instance.get("objectList"), list):
            objects = [item.get("object") if isinstance(item, dict) else item for item in instance["objectList"]]
        for item in objects if isinstance(objects, list) else [objects]:
            if isinstance(item, str):
                yield item
        for name, member in instance.items():
            if name not in VALUE_KEYS and name != "type":
                yield from _objects_of(member)


def _apply_attribute_rule(entity: dict[str, Any], rule: DropRule | SetRule | ShiftRule) -> None:
    if isinstance(rule, ShiftRule):
        for instance in attribute_instances(entity.get(rule.attribute)):
            if isinstance(instance.get("value"), dict):
                instance["value"] = {**instance["value"],
                                     "coordinates": _shifted(instance["value"].get("coordinates"), rule.offset)}
        return
    name, members = rule.path[0], rule.path[1:]
    if isinstance(rule, DropRule) and not members:
        entity.pop(name, None)
        return
    for instance in attribute_instances(entity.get(name)):
        if not members:
            if isinstance(rule, SetRule):
                instance["value"] = rule.value
        elif isinstance(instance.get("value"), dict):
            _set_member(instance, members, rule)


def _set_member(instance: dict[str, Any], members: tuple[str, ...], rule: DropRule | SetRule) -> None:
    holder = instance["value"]
    for member in members[:-1]:
        if not isinstance(holder.get(member), dict):
            if isinstance(rule, DropRule):
                return
            holder[member] = {}
        holder = holder[member]
    if isinstance(rule, DropRule):
        holder.pop(members[-1], None)
    else:
        holder[members[-1]] = rule.value


def _shifted(coordinates: Any, offset: tuple[float, float]) -> Any:
    """GeoJSON coordinates (a position, or nested arrays of them) moved by (longitude, latitude) degrees."""
    if isinstance(coordinates, list) and coordinates and all(isinstance(c, int | float) for c in coordinates):
        return [round(coordinates[0] + offset[0], 9), round(coordinates[1] + offset[1], 9), *coordinates[2:]]
    if isinstance(coordinates, list):
        return [_shifted(item, offset) for item in coordinates]
    return coordinates


# Reading rules


def parse_rules(texts: list[str]) -> Rules:
    """The rules of the `--rewrite` values, in order; RuleError names the first one that cannot be read."""
    lines = [line for text in texts for line in _expanded(text)]
    ids: list[IdRule] = []
    attributes: list[DropRule | SetRule | ShiftRule] = []
    endpoints: list[EndpointRule] = []
    for line in lines:
        rule = parse_rule(line)
        if isinstance(rule, IdRule):
            ids.append(rule)
        elif isinstance(rule, EndpointRule):
            endpoints.append(rule)
        else:
            attributes.append(rule)
    return Rules(tuple(ids), tuple(attributes), tuple(endpoints), tuple(lines))


def _expanded(text: str) -> list[str]:
    if not text.startswith("@"):
        return [text]
    try:
        content = Path(text[1:]).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"--rewrite {text}: cannot read the file ({exc.strerror or exc})") from exc
    lines = (line.split(" #")[0].strip() for line in content.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def parse_rule(text: str) -> IdRule | DropRule | SetRule | ShiftRule | EndpointRule:
    kind, colon, rest = text.partition(":")
    try:
        if not colon or kind not in _PARSERS:
            return _city_rule(text)
        return _PARSERS[kind](rest)
    except (ValueError, re.error) as exc:
        raise RuleError(f"--rewrite {text!r}: {exc}") from exc


def _city_rule(text: str) -> IdRule:
    old, equals, new = text.partition("=")
    if not equals or not _TOKEN.fullmatch(old) or not _TOKEN.fullmatch(new):
        raise ValueError("not a rule: give CITY=CITY (mechelen=delft), or id:, drop:, set:, shift:, endpoint: "
                         "followed by the rule")
    return IdRule(re.compile(rf"^(urn:ngsi-ld:[^:]+:){re.escape(old)}(?=:)"), rf"\g<1>{new}")


def _id_rule(text: str) -> IdRule:
    pattern, arrow, replacement = text.partition("=>")
    if not arrow or not pattern:
        raise ValueError("give id:REGEX=>REPLACEMENT")
    compiled = re.compile(pattern)
    compiled.sub(replacement, "")  # a replacement that names a missing group fails here, not mid-copy
    return IdRule(compiled, replacement)


def _drop_rule(text: str) -> DropRule:
    return DropRule(_path(text))


def _set_rule(text: str) -> SetRule:
    path, equals, raw = text.partition("=")
    if not equals:
        raise ValueError("give set:ATTR[.member]=VALUE")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    return SetRule(_path(path), value)


def _shift_rule(text: str) -> ShiftRule:
    name, equals, raw = text.partition("=")
    parts = raw.split(",")
    if not equals or len(parts) != 2:
        raise ValueError("give shift:ATTR=DLON,DLAT (degrees)")
    longitude, latitude = (float(part) for part in parts)
    return ShiftRule(_path(name)[0], (longitude, latitude))


def _endpoint_rule(text: str) -> EndpointRule:
    old, arrow, new = text.partition("=>")
    if not arrow or not old:
        raise ValueError("give endpoint:OLD=>NEW")
    return EndpointRule(old, new)


def _path(text: str) -> tuple[str, ...]:
    path = tuple(text.strip().split("."))
    if not all(path):
        raise ValueError(f"{text!r} is not an attribute name, or a dotted path of members")
    return path


_PARSERS: dict[str, Callable[[str], IdRule | DropRule | SetRule | ShiftRule | EndpointRule]] = {
    "id": _id_rule, "drop": _drop_rule, "set": _set_rule, "shift": _shift_rule, "endpoint": _endpoint_rule,
}
