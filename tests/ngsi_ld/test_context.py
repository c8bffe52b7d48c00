"""The built-in core context, and expand -> compact round trips under random user contexts."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngsi_ld.context import CORE_CONTEXT_URL, build_term_map, builtin_document
from ngsi_ld.entity import parse_entity
from ngsi_ld.errors import BadRequestData
from ngsi_ld.render import RenderOptions, render_entity
from tests.conftest import DATA

OFFICIAL_CORE = DATA / "jsonld-contexts" / "core" / "ngsi-ld-core-context-v1.8.jsonld"
NGSI_LD = "https://uri.etsi.org/ngsi-ld/"


def no_network(url: str) -> Any:
    raise AssertionError(f"the test context must not be fetched: {url}")


def official_terms() -> dict[str, str]:
    """Each term of the official v1.8 core context with the IRI it stands for."""
    definitions = json.loads(OFFICIAL_CORE.read_text())["@context"]
    prefixes = {"ngsi-ld": definitions["ngsi-ld"], "geojson": definitions["geojson"]}
    vocab = definitions["@vocab"]
    terms = {}
    for term, definition in definitions.items():
        if term.startswith("@"):
            continue
        iri = definition if isinstance(definition, str) else definition["@id"]
        prefix, _, suffix = iri.partition(":")
        if prefix in prefixes:
            iri = prefixes[prefix] + suffix
        elif ":" not in iri and not iri.startswith("@"):
            iri = vocab + iri  # a relative IRI is resolved against @vocab
        terms[term] = iri
    return terms


def test_builtin_core_context_is_the_official_document() -> None:
    assert builtin_document(CORE_CONTEXT_URL) == json.loads(OFFICIAL_CORE.read_text())


@pytest.mark.parametrize(("term", "iri"), sorted(official_terms().items()))
def test_core_term_expands_and_compacts_as_the_official_context_says(term: str, iri: str) -> None:
    terms = build_term_map(None, no_network)
    if iri.startswith("@"):
        return  # keyword aliases such as id -> @id are not attribute names
    assert terms.expand(term) == iri
    assert terms.compact(iri) == term


def test_unknown_terms_use_the_default_vocabulary() -> None:
    terms = build_term_map(None, no_network)
    assert terms.expand("temperature") == "https://uri.etsi.org/ngsi-ld/default-context/temperature"
    assert terms.compact("https://uri.etsi.org/ngsi-ld/default-context/temperature") == "temperature"
    assert terms.compact("https://example.org/unmapped") == "https://example.org/unmapped"


def test_user_context_cannot_override_core_terms() -> None:
    terms = build_term_map({"location": "https://example.org/myLocation"}, no_network)
    assert terms.expand("location") == NGSI_LD + "location"


def test_compaction_gives_a_term_else_a_compact_iri_else_the_full_iri() -> None:
    terms = build_term_map({"schema": "https://schema.org/", "name": "schema:name"}, no_network)
    assert terms.expand("name") == "https://schema.org/name"
    assert terms.expand("schema:address") == "https://schema.org/address"
    assert terms.compact("https://schema.org/name") == "name"
    # JSON-LD 1.1 IRI Compaction: a prefix of the @context gives a compact IRI, which expands back
    assert terms.compact("https://schema.org/address") == "schema:address"
    assert terms.compact("https://uri.etsi.org/ngsi-ld/unknownTerm") == "ngsi-ld:unknownTerm"
    # clause 5.5.7: with neither term nor prefix, the Fully Qualified Name
    assert terms.compact("https://example.org/unmapped") == "https://example.org/unmapped"


def test_a_shadowed_vocabulary_term_compacts_to_a_compact_iri() -> None:
    """The ETSI test suite's case: `almostFull` written without @context (the core @vocab), read with an
    @context that maps `almostFull` elsewhere: the suffix cannot be used, `ngsi-ld:` can."""
    terms = build_term_map({"almostFull": "https://example.org/test#almostFull"}, no_network)
    default = "https://uri.etsi.org/ngsi-ld/default-context/almostFull"
    assert terms.compact(default) == "ngsi-ld:default-context/almostFull"
    assert terms.expand("ngsi-ld:default-context/almostFull") == default
    assert terms.compact("https://example.org/test#almostFull") == "almostFull"


def test_invalid_context_is_bad_request_data() -> None:
    with pytest.raises(BadRequestData):
        build_term_map({"bad": {"@id": 42}}, no_network)


def test_remote_documents_come_from_the_loader() -> None:
    documents = {"https://example.org/ctx.jsonld": {"@context": {"speed": "https://example.org/vocab#speed"}}}
    terms = build_term_map(["https://example.org/ctx.jsonld", CORE_CONTEXT_URL], documents.__getitem__)
    assert terms.expand("speed") == "https://example.org/vocab#speed"


term_names = st.text(string.ascii_letters, min_size=1, max_size=12).filter(lambda t: t not in official_terms())
user_contexts = st.dictionaries(
    term_names,
    st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8).map(lambda p: f"https://example.org/{p}#"),
    min_size=1,
    max_size=8,
).map(lambda prefixes: {term: base + term for term, base in prefixes.items()})


@settings(max_examples=60, deadline=None)
@given(context=user_contexts, extra=term_names)
def test_expand_then_compact_gives_back_every_term(context: dict[str, str], extra: str) -> None:
    terms = build_term_map(context, no_network)
    for term, iri in context.items():
        assert terms.expand(term) == iri
        assert terms.compact(iri) == term
    assert terms.compact(terms.expand(extra)) == extra


@settings(max_examples=40, deadline=None)
@given(context=user_contexts, value=st.integers() | st.text(max_size=10) | st.booleans())
def test_entity_round_trip_keeps_names_and_types(context: dict[str, str], value: Any) -> None:
    terms = build_term_map(context, no_network)
    names = sorted(context)
    raw = {"id": "urn:ngsi-ld:T:1", "type": names[0], **{n: {"type": "Property", "value": value} for n in names}}
    entity = parse_entity(raw, terms)
    assert entity["type"] == [context[names[0]]]
    assert set(entity["attrs"]) == set(context.values())
    assert render_entity(entity, terms, RenderOptions()) == raw
    core_only = build_term_map(None, no_network)
    assert set(render_entity(entity, core_only, RenderOptions())) == {"id", "type", *context.values()}


prefix_contexts = st.dictionaries(
    st.text(string.ascii_lowercase, min_size=1, max_size=6).filter(lambda t: t not in official_terms()),
    st.sampled_from(["https://example.org/", "https://example.org/a/", "https://example.org/a#",
                     "https://uri.etsi.org/ngsi-ld/default-context/", "https://other.org/"]),
    max_size=4,
)
iris = st.builds(lambda base, rest: base + rest,
                 st.sampled_from(["https://example.org/", "https://example.org/a/", "https://example.org/a#",
                                  "https://uri.etsi.org/ngsi-ld/", "https://uri.etsi.org/ngsi-ld/default-context/",
                                  "https://other.org/"]),
                 st.text(string.ascii_letters + "/#", min_size=1, max_size=10))


@settings(max_examples=80, deadline=None)
@given(context=prefix_contexts, iri=iris)
def test_whatever_compaction_gives_expands_back(context: dict[str, str], iri: str) -> None:
    terms = build_term_map(context, no_network)
    assert terms.expand(terms.compact(iri)) == iri
