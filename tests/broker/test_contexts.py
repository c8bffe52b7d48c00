"""User @contexts through the API: fetched once, cached in memory and on disk, 504 when unreachable."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.conftest import API, BrokerProcess, ContextServer, free_port, link, unique_id

VOCAB = "https://example.org/parking#"


def serve_context(context_server: ContextServer, name: str) -> str:
    """Serves a @context at a path of its own (the server outlives the test: its hits must be this test's)."""
    path = f"/{name}-{unique_id().rsplit(':', 1)[1]}.jsonld"
    context_server.documents[path] = {
        "@context": {"parking": VOCAB, "Garage": "parking:Garage", "freeSpots": "parking:freeSpots"}
    }
    return context_server.url(path)


def test_link_context_expands_on_write_and_compacts_on_read(
    client: httpx.Client, context_server: ContextServer
) -> None:
    url = serve_context(context_server, "garage-a")
    entity_id = unique_id("Garage")
    created = client.post("/entities", json={"id": entity_id, "type": "Garage", "freeSpots": 7}, headers=link(url))
    assert created.status_code == 201, created.text
    with_context = client.get(f"/entities/{entity_id}", params={"options": "keyValues"}, headers=link(url))
    assert with_context.json() == {"id": entity_id, "type": "Garage", "freeSpots": 7}
    assert url in with_context.headers["link"]
    without_context = client.get(f"/entities/{entity_id}", params={"options": "keyValues"})
    assert without_context.json() == {"id": entity_id, "type": VOCAB + "Garage", VOCAB + "freeSpots": 7}


def test_names_without_a_term_are_compact_iris_where_a_prefix_fits(
    client: httpx.Client, context_server: ContextServer
) -> None:
    """JSON-LD IRI compaction (clause 5.5.7): a term, else the core @vocab's suffix when the @context gives it
    no other meaning, else prefix:suffix, else the full IRI. The ETSI test suite's 001_05_02 case: written
    without @context, `almostFull` read with an @context that maps `almostFull` elsewhere."""
    url = serve_context(context_server, "garage-prefix")
    context_server.documents["/garage-shadow.jsonld"] = {"@context": {"almostFull": VOCAB + "almostFull"}}
    shadow = context_server.url("/garage-shadow.jsonld")
    entity_id = unique_id("Garage")
    created = client.post("/entities", headers=link(url), json={
        "id": entity_id, "type": "Garage", "parking:capacity": 40, "almostFull": False})
    assert created.status_code == 201, created.text
    mine = client.get(f"/entities/{entity_id}", params={"options": "keyValues"}, headers=link(url)).json()
    assert mine == {"id": entity_id, "type": "Garage", "parking:capacity": 40, "almostFull": False}
    shadowed = client.get(f"/entities/{entity_id}", params={"options": "keyValues"}, headers=link(shadow)).json()
    assert shadowed["ngsi-ld:default-context/almostFull"] is False
    assert shadowed[VOCAB + "capacity"] == 40 and shadowed["type"] == VOCAB + "Garage"
    picked = client.get(f"/entities/{entity_id}", headers=link(shadow), params={
        "options": "keyValues", "pick": "id,ngsi-ld:default-context/almostFull"})
    assert picked.json() == {"id": entity_id, "ngsi-ld:default-context/almostFull": False}


def test_body_context_with_ld_json(client: httpx.Client, context_server: ContextServer) -> None:
    url = serve_context(context_server, "garage-b")
    entity_id = unique_id("Garage")
    body = {"id": entity_id, "type": "Garage", "freeSpots": 3, "@context": url}
    created = client.post("/entities", json=body, headers={"Content-Type": "application/ld+json"})
    assert created.status_code == 201, created.text
    got = client.get(f"/entities/{entity_id}", params={"options": "keyValues"},
                     headers={**link(url), "Accept": "application/ld+json"})
    assert got.headers["content-type"].startswith("application/ld+json")
    assert got.json() == {"id": entity_id, "type": "Garage", "freeSpots": 3, "@context": url}


def test_inline_context_object(client: httpx.Client) -> None:
    entity_id = unique_id("Garage")
    body = {"id": entity_id, "type": "Garage", "freeSpots": 3, "@context": [{"Garage": VOCAB + "Garage"}]}
    assert client.post("/entities", json=body, headers={"Content-Type": "application/ld+json"}).status_code == 201
    got = client.get(f"/entities/{entity_id}", params={"options": "keyValues"}).json()
    assert got["type"] == VOCAB + "Garage"
    assert "freeSpots" in got


def test_a_context_is_fetched_once(client: httpx.Client, context_server: ContextServer) -> None:
    url = serve_context(context_server, "garage-once")
    for _ in range(5):
        entity_id = unique_id("Garage")
        assert client.post("/entities", json={"id": entity_id, "type": "Garage"}, headers=link(url)).status_code == 201
        assert client.get(f"/entities/{entity_id}", headers=link(url)).status_code == 200
    assert context_server.hits[urlsplit(url).path] == 1


def test_unreachable_context_is_504(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{free_port()}/nothing-here.jsonld"
    answer = client.post("/entities", json={"id": unique_id(), "type": "T"}, headers=link(url))
    assert answer.status_code == 504
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"


def test_missing_context_document_is_504(client: httpx.Client, context_server: ContextServer) -> None:
    answer = client.get("/entities", params={"type": "T"}, headers=link(context_server.url("/absent.jsonld")))
    assert answer.status_code == 504
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"


def test_document_without_context_member_is_bad_request(client: httpx.Client, context_server: ContextServer) -> None:
    context_server.documents["/not-a-context.jsonld"] = {"hello": "world"}
    answer = client.get("/entities", params={"type": "T"}, headers=link(context_server.url("/not-a-context.jsonld")))
    assert answer.status_code == 400
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def test_nested_context_documents_are_followed(client: httpx.Client, context_server: ContextServer) -> None:
    inner = serve_context(context_server, "inner")
    context_server.documents["/outer.jsonld"] = {"@context": [inner, {"height": "https://example.org/height"}]}
    entity_id = unique_id("Garage")
    body = {"id": entity_id, "type": "Garage", "freeSpots": 1, "height": 2}
    assert client.post("/entities", json=body, headers=link(context_server.url("/outer.jsonld"))).status_code == 201
    got = client.get(f"/entities/{entity_id}", params={"options": "keyValues"}).json()
    assert got == {"id": entity_id, "type": VOCAB + "Garage", VOCAB + "freeSpots": 1, "https://example.org/height": 2}


def test_core_context_link_is_never_fetched(client: httpx.Client) -> None:
    core = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
    entity_id = unique_id()
    answer = client.post("/entities", json={"id": entity_id, "type": "T", "speed": 3}, headers=link(core))
    assert answer.status_code == 201, answer.text


def test_contexts_survive_a_restart_without_the_network(tmp_path: Path, context_server: ContextServer) -> None:
    url = serve_context(context_server, "garage-disk")
    broker = BrokerProcess(tmp_path).start()
    entity_id = unique_id("Garage")
    try:
        with httpx.Client(base_url=broker.url + API) as http:
            created = http.post("/entities", json={"id": entity_id, "type": "Garage"}, headers=link(url))
            assert created.status_code == 201
    finally:
        broker.stop()
    del context_server.documents[urlsplit(url).path]
    broker.start()
    try:
        with httpx.Client(base_url=broker.url + API) as http:
            got = http.get(f"/entities/{entity_id}", headers=link(url))
            assert got.status_code == 200, got.text
            assert got.json()["type"] == "Garage"
    finally:
        broker.stop()
    assert context_server.hits[urlsplit(url).path] == 1
