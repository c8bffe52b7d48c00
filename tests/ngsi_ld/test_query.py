"""The q and scopeQ languages: parsing, errors with positions, and the Python evaluator on shared cases."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngsi_ld.context import build_term_map
from ngsi_ld.entity import parse_entity
from ngsi_ld.errors import BadRequestData
from ngsi_ld.query import ScopeMatch, matches, parse_q, parse_scope_q, scope_matches
from ngsi_ld.query.q import decoded_q, renamed_q

CASES = json.loads((Path(__file__).parent.parent / "query_cases" / "q.json").read_text())
TERMS = build_term_map(None, lambda url: None)
ENTITIES = [parse_entity(raw, TERMS) for raw in CASES["given"]]


@pytest.mark.parametrize("case", CASES["cases"], ids=[case["q"] for case in CASES["cases"]])
def test_q_case_with_the_python_evaluator(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(BadRequestData) as raised:
            parse_q(case["q"], TERMS.expand)
        assert "position" in raised.value.detail
        return
    node = parse_q(case["q"], TERMS.expand)
    assert [entity["id"] for entity in ENTITIES if matches(node, entity)] == case["result"]


SHADOWING = build_term_map({name: f"urn:example:{name}" for name in (
    "speed", "temperature", "rpm", "brandName", "address", "isParked", "street", "accuracy", "odometer")},
    lambda url: None)


@pytest.mark.parametrize("q", [case["q"] for case in CASES["cases"] if "error" not in case])
def test_a_renamed_q_means_the_same_under_the_other_context(q: str) -> None:
    """Renaming a q for another @context rewrites its attribute names only, so that it parses to the same
    query there (the names shadowed by that @context become compact IRIs, ngsi-ld:default-context/...)."""
    renamed = renamed_q(q, TERMS.expand, SHADOWING.compact)
    assert parse_q(renamed, SHADOWING.expand) == parse_q(q, TERMS.expand)
    assert renamed_q(renamed, SHADOWING.expand, TERMS.compact) == q


def test_renaming_keeps_values_metadata_and_json_members() -> None:
    q = 'speed.observedAt>2026-11-27T07:00:00Z;address[speed.city]=="speed";(rpm|!speed)'
    renamed = renamed_q(q, TERMS.expand, SHADOWING.compact)
    assert renamed == ('ngsi-ld:default-context/speed.observedAt>2026-11-27T07:00:00Z;'
                       'ngsi-ld:default-context/address[speed.city]=="speed";'
                       '(ngsi-ld:default-context/rpm|!ngsi-ld:default-context/speed)')


@pytest.mark.parametrize(("sent", "meant"), [
    ("name==%22Eiffel%20Tower%22", 'name=="Eiffel Tower"'),  # does not parse as written
    ("speed%3E50", "speed>50"),  # parses, but as a name with '%'
    ("speed%3E50%3Bbrand==%22M%C3%BCller%22", 'speed>50;brand=="Müller"'),
    ('code=="A%20B"', 'code=="A%20B"'),  # escapes of a valid q are text: in a string,
    ("ref==urn:ngsi-ld:Device:caf%C3%A9", "ref==urn:ngsi-ld:Device:caf%C3%A9"),  # a URI,
    ("code~=^A%20", "code~=^A%20"),  # a regular expression
    ("speed>50", "speed>50"),
    ("a+b==1%2B1", "a+b==1%2B1"),
])
def test_a_percent_encoded_q_is_decoded_and_only_it(sent: str, meant: str) -> None:
    assert decoded_q(sent) == meant


def test_and_binds_tighter_than_or() -> None:
    assert parse_q("a|b;c", TERMS.expand) == parse_q("a|(b;c)", TERMS.expand)
    assert parse_q("a|b;c", TERMS.expand) != parse_q("(a|b);c", TERMS.expand)


def test_error_points_at_the_position() -> None:
    with pytest.raises(BadRequestData) as raised:
        parse_q("speed>50;brandName==oops", TERMS.expand)
    lines = raised.value.detail.splitlines()
    assert lines[-1].index("^") == len("speed>50;brandName==")


@pytest.mark.parametrize(
    ("expression", "scope", "expected"),
    [
        ("/Mechelen", "/Mechelen", True),
        ("/Mechelen", "/Mechelen/Centrum", False),
        ("/Mechelen/#", "/Mechelen", True),
        ("/Mechelen/#", "/Mechelen/Centrum/Noord", True),
        ("/Mechelen/#", "/Brugge", False),
        ("/+/Centrum", "/Mechelen/Centrum", True),
        ("/+/Centrum", "/Mechelen/Noord", False),
        ("/+", "/Mechelen/Centrum", False),
        ("/#", "/Anything/At/All", True),
    ],
)
def test_scope_matching(expression: str, scope: str, expected: bool) -> None:
    node = parse_scope_q(expression)
    assert isinstance(node, ScopeMatch)
    assert scope_matches(node.levels, scope) is expected


def test_scope_q_combinations() -> None:
    entity = parse_entity({"id": "urn:x:1", "type": "T", "scope": ["/Mechelen/Centrum", "/Parking"]}, TERMS)
    assert matches(parse_scope_q("/Mechelen/Centrum;/Parking"), entity)
    assert not matches(parse_scope_q("/Brugge;/Parking"), entity)
    assert matches(parse_scope_q("(/Brugge|/Parking);/Mechelen/#"), entity)
    assert not matches(parse_scope_q("/Brugge"), parse_entity({"id": "urn:x:2", "type": "T"}, TERMS))


@pytest.mark.parametrize("bad", ["", "Mechelen", "/a//b", "/a/#/b", "(/a", "/a;", "/a b"])
def test_scope_q_errors(bad: str) -> None:
    with pytest.raises(BadRequestData):
        parse_scope_q(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable, max_size=30))
def test_random_q_strings_parse_or_fail_cleanly(text: str) -> None:
    try:
        parse_q(text, TERMS.expand)
    except BadRequestData as error:
        assert "position" in error.detail


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="/#+;|()ab ", max_size=20))
def test_random_scope_strings_parse_or_fail_cleanly(text: str) -> None:
    try:
        parse_scope_q(text)
    except BadRequestData as error:
        assert "position" in error.detail
