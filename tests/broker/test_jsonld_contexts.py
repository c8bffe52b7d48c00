"""@context management through the API (clause 5.13): Hosted, Cached and ImplicitlyCreated @contexts; add, list,
serve, delete and reload them; shared by the workers of one broker, by the brokers of several machines that share
one MongoDB, and kept across a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import API, BrokerProcess, ContextServer, link, unique_id
from tests.notifications.conftest import ReceiverProcess, unique_path, wait_until

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
VOCAB = "https://example.org/hosted#"
JSON_LD = {"Content-Type": "application/ld+json"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[ReceiverProcess]:
    process = ReceiverProcess().start()
    yield process
    process.stop()


def both_workers_answer(url: str) -> bool:
    return len({httpx.get(f"{url}/health", timeout=5).json()["worker"] for _ in range(20)}) == 2


def add(client: httpx.Client, context: Any) -> str:
    """Adds a Hosted @context; returns its path under the API (from the Location header)."""
    answer = client.post("/jsonldContexts", json={"@context": context})
    assert answer.status_code == 201, answer.text
    location: str = answer.headers["location"]
    assert location.startswith(API + "/jsonldContexts/")
    return location.removeprefix(API)


def details(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    answer = client.get("/jsonldContexts", params={"details": "true", **params})
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()
    return listed


def detail_of(client: httpx.Client, local_id: str) -> dict[str, Any]:
    return next(item for item in details(client) if item["localId"] == local_id)


def problem(answer: httpx.Response, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == ERRORS + error


def test_add_serve_list_and_delete_a_hosted_context(client: httpx.Client) -> None:
    context = {"garage": VOCAB + "Garage", "spots": VOCAB + "spots"}
    path = add(client, context)
    local_id = path.rsplit("/", 1)[1]
    served = client.get(path)
    assert served.status_code == 200 and served.json() == {"@context": context}
    assert "link" not in served.headers
    as_ld = client.get(path, headers={"Accept": "application/ld+json"})
    assert as_ld.headers["content-type"].startswith("application/ld+json")

    url = f"{client.base_url.scheme}://{client.base_url.netloc.decode()}{API}/jsonldContexts/{local_id}"
    assert url in client.get("/jsonldContexts").json()
    assert url in client.get("/jsonldContexts", params={"kind": "Hosted"}).json()
    assert url not in client.get("/jsonldContexts", params={"kind": "Cached"}).json()
    info = detail_of(client, local_id)
    assert info["URL"] == url and info["kind"] == "Hosted" and info["createdAt"].endswith("Z")
    assert client.get(path, params={"details": "true"}).json() == info
    assert client.get(f"/jsonldContexts/{quote(url, safe='')}").json() == {"@context": context}  # by its URL

    assert client.delete(path).status_code == 204
    problem(client.get(path), 404, "ResourceNotFound")
    problem(client.delete(path), 404, "ResourceNotFound")
    assert url not in client.get("/jsonldContexts").json()


def test_a_hosted_context_serves_requests_without_an_http_round_trip(client: httpx.Client) -> None:
    local_id = add(client, {"Garage": VOCAB + "Garage", "spots": VOCAB + "spots"}).rsplit("/", 1)[1]
    # the host is unreachable: only the broker's own store can give this document
    url = f"http://unreachable.invalid:9{API}/jsonldContexts/{local_id}"
    entity_id = unique_id("Garage")
    created = client.post("/entities", json={"id": entity_id, "type": "Garage", "spots": 4}, headers=link(url))
    assert created.status_code == 201, created.text
    expanded = client.get(f"/entities/{entity_id}", params={"options": "keyValues"}).json()
    assert expanded == {"id": entity_id, "type": VOCAB + "Garage", VOCAB + "spots": 4}
    compacted = client.get(f"/entities/{entity_id}", params={"options": "keyValues"}, headers=link(url)).json()
    assert compacted == {"id": entity_id, "type": "Garage", "spots": 4}


def test_add_refuses_what_is_not_a_context_document(client: httpx.Client) -> None:
    for body in ([{"@context": {}}], {"garage": VOCAB + "Garage"}, {"@context": 7}, {"@context": []},
                 {"@context": ["https://example.org/ctx.jsonld", 7]}, {"@context": "not a url"},
                 {"@context": {"a": VOCAB + "a"}, "id": "urn:x"}, {"@context": {"a": {"@id": 5}}}):
        problem(client.post("/jsonldContexts", json=body), 400, "BadRequestData")
    not_json = client.post("/jsonldContexts", content=b"{", headers={"Content-Type": "application/json"})
    problem(not_json, 400, "InvalidRequest")
    assert client.post("/jsonldContexts", content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    with_param = client.post("/jsonldContexts", params={"foo": "1"}, json={"@context": {"a": VOCAB + "a"}})
    problem(with_param, 400, "InvalidRequest")


def test_parameters_are_checked(client: httpx.Client) -> None:
    path = add(client, {"a": VOCAB + "a"})
    problem(client.get("/jsonldContexts", params={"details": "yes"}), 400, "BadRequestData")
    problem(client.get("/jsonldContexts", params={"kind": "Remote"}), 400, "BadRequestData")
    problem(client.get("/jsonldContexts", params={"limit": "5"}), 400, "InvalidRequest")
    problem(client.get(path, params={"reload": "true"}), 400, "InvalidRequest")
    problem(client.delete(path, params={"details": "true"}), 400, "InvalidRequest")
    problem(client.delete(path, params={"reload": "xxx"}), 400, "BadRequestData")
    problem(client.delete(path, params={"reload": "true"}), 400, "BadRequestData")  # only Cached ones reload
    problem(client.delete("/jsonldContexts/no-such-context", params={"reload": "true"}), 400, "BadRequestData")
    problem(client.delete("/jsonldContexts/no-such-context"), 404, "ResourceNotFound")
    problem(client.get("/jsonldContexts/0123456789abcdef0123456789abcdef"), 404, "ResourceNotFound")
    assert client.get(path).status_code == 200


def test_cached_contexts_are_listed_reloaded_and_deleted(client: httpx.Client, context_server: ContextServer) -> None:
    document_path = f"/cached-{unique_id('c').rsplit(':', 1)[1]}.jsonld"
    context_server.documents[document_path] = {"@context": {"Garage": VOCAB + "Garage"}}
    url = context_server.url(document_path)
    write = client.post("/entities", json={"id": unique_id("Garage"), "type": "Garage"}, headers=link(url))
    assert write.status_code == 201, write.text
    assert url in client.get("/jsonldContexts", params={"kind": "Cached"}).json()
    assert url not in client.get("/jsonldContexts", params={"kind": "Hosted"}).json()
    info = next(item for item in details(client, kind="Cached") if item["URL"] == url)
    by_url = f"/jsonldContexts/{quote(url, safe='')}"
    problem(client.get(by_url), 422, "OperationNotSupported")  # Cached @contexts are not served
    assert client.get(by_url, params={"details": "true"}).json() == info
    assert client.get(f"/jsonldContexts/{info['localId']}", params={"details": "true"}).json() == info

    context_server.documents[document_path] = {"@context": {"Garage": VOCAB + "Garage", "level": VOCAB + "level"}}
    assert client.delete(by_url, params={"reload": "true"}).status_code == 204
    assert context_server.hits[document_path] == 2
    assert detail_of(client, info["localId"]) == info  # still there, with its first createdAt
    entity_id = unique_id("Garage")
    reloaded = {"id": entity_id, "type": "Garage", "level": 2}
    assert client.post("/entities", json=reloaded, headers=link(url)).status_code == 201
    assert VOCAB + "level" in client.get(f"/entities/{entity_id}").json()

    del context_server.documents[document_path]
    problem(client.delete(by_url, params={"reload": "true"}), 504, "LdContextNotAvailable")
    assert detail_of(client, info["localId"]) == info  # a failed reload keeps the copy

    context_server.documents[document_path] = {"@context": {"Garage": VOCAB + "Garage"}}
    assert client.delete(f"/jsonldContexts/{info['localId']}").status_code == 204
    assert url not in client.get("/jsonldContexts").json()
    again = client.post("/entities", json={"id": unique_id("Garage"), "type": "Garage"}, headers=link(url))
    assert again.status_code == 201 and context_server.hits[document_path] == 4  # fetched anew


def test_the_core_context_is_listed_but_stays(client: httpx.Client) -> None:
    core = next(item for item in details(client, kind="Cached") if item["URL"] == CORE_CONTEXT)
    assert core["extraInfo"] == {"builtIn": True}
    by_url = f"/jsonldContexts/{quote(CORE_CONTEXT, safe='')}"
    problem(client.delete(by_url), 400, "BadRequestData")
    problem(client.delete(by_url, params={"reload": "true"}), 400, "BadRequestData")
    problem(client.delete(f"/jsonldContexts/{core['localId']}"), 400, "BadRequestData")
    assert CORE_CONTEXT in client.get("/jsonldContexts").json()


def test_an_entity_with_an_inline_context_creates_an_implicit_one(client: httpx.Client) -> None:
    context = [{"Bay": VOCAB + f"Bay{unique_id('b').rsplit(':', 1)[1]}"}, CORE_CONTEXT]
    entity = {"id": unique_id("Bay"), "type": "Bay", "@context": context}
    assert client.post("/entities", json=entity, headers=JSON_LD).status_code == 201
    implicit = [item for item in details(client, kind="ImplicitlyCreated")
                if client.get(item["URL"].split(API, 1)[1]).json() == {"@context": context}]
    assert len(implicit) == 1
    again = {"id": unique_id("Bay"), "type": "Bay", "@context": context}
    assert client.post("/entities", json=again, headers=JSON_LD).status_code == 201
    assert [item["localId"] for item in details(client, kind="ImplicitlyCreated")].count(implicit[0]["localId"]) == 1
    assert client.delete(implicit[0]["URL"].split(API, 1)[1]).status_code == 204  # no subscription names it


def test_a_subscription_with_an_inline_context_refers_to_an_implicit_one(
    client: httpx.Client, receiver: ReceiverProcess
) -> None:
    path = unique_path()
    car = f"Car{unique_path()[3:11]}"
    context = [{car: VOCAB + car, "speed": VOCAB + "speed"}, CORE_CONTEXT]
    subscription = {"type": "Subscription", "entities": [{"type": car}], "@context": context,
                    "notification": {"endpoint": {"uri": receiver.url(path)}}}
    created = client.post("/subscriptions", json=subscription, headers=JSON_LD)
    assert created.status_code == 201, created.text
    subscription_path = created.headers["location"].removeprefix(API)
    implicit_url = client.get(subscription_path).json()["jsonldContext"]
    retrieved = client.get(subscription_path, headers=link(implicit_url))
    assert retrieved.json()["entities"] == [{"type": car}]  # the names are compacted with that @context
    assert f"<{implicit_url}>" in retrieved.headers["link"]
    assert implicit_url in client.get("/jsonldContexts", params={"kind": "ImplicitlyCreated"}).json()
    implicit_path = implicit_url.split(API, 1)[1]
    assert client.get(implicit_path).json() == {"@context": context}

    entity = {"id": unique_id(car), "type": car, "speed": 50, "@context": context}
    assert client.post("/entities", json=entity, headers=JSON_LD).status_code == 201
    [received] = receiver.wait_for(path, 1)
    assert f"<{implicit_url}>" in received["headers"]["Link"]
    assert received["body"]["data"][0]["speed"]["value"] == 50  # compacted with the subscription's terms

    problem(client.delete(implicit_path), 422, "OperationNotSupported")  # the subscription names it
    problem(client.delete(implicit_path, params={"reload": "true"}), 400, "BadRequestData")
    assert client.delete(subscription_path).status_code == 204
    assert client.delete(implicit_path).status_code == 204


def test_a_new_inline_context_moves_the_implicit_reference(client: httpx.Client) -> None:
    first = [{"Van": VOCAB + "Van"}, CORE_CONTEXT]
    subscription = {"type": "Subscription", "entities": [{"type": "Van"}], "@context": first,
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}
    created = client.post("/subscriptions", json=subscription, headers=JSON_LD)
    assert created.status_code == 201, created.text
    subscription_path = created.headers["location"].removeprefix(API)
    before = client.get(subscription_path).json()["jsonldContext"]
    second = [{"Van": VOCAB + "Van", "load": VOCAB + "load"}, CORE_CONTEXT]
    patched = client.patch(subscription_path, json={"watchedAttributes": ["load"], "@context": second},
                           headers=JSON_LD)
    assert patched.status_code == 204, patched.text
    after = client.get(subscription_path).json()["jsonldContext"]
    assert after != before and client.get(after.split(API, 1)[1]).json() == {"@context": second}
    own = "https://example.org/contexts/vans.jsonld"
    kept = client.post("/subscriptions", json={**subscription, "jsonldContext": own}, headers=JSON_LD)
    assert client.get(kept.headers["location"].removeprefix(API)).json()["jsonldContext"] == own
    assert client.delete(subscription_path).status_code == 204


def test_contexts_are_shared_by_workers_and_survive_a_restart(tmp_path: Path, store_url: str) -> None:
    store = {"SCIFI_STORE": store_url}
    broker = BrokerProcess(tmp_path, workers=2, env=store).start()
    fresh_connections = httpx.Limits(max_keepalive_connections=0)  # so that requests spread over both workers
    try:
        wait_until(lambda: both_workers_answer(broker.url), timeout=20)
        with httpx.Client(base_url=broker.url + API, timeout=10, limits=fresh_connections) as client:
            kept = add(client, {"Kept": VOCAB + "Kept"})
            dropped = add(client, {"Dropped": VOCAB + "Dropped"})
            dropped_url = f"http://unreachable.invalid:9{API}{dropped}"

            def use_dropped(_: int) -> int:
                entity = {"id": unique_id("Dropped"), "type": "Dropped"}
                return client.post("/entities", json=entity, headers=link(dropped_url)).status_code

            with ThreadPoolExecutor(max_workers=4) as pool:
                assert set(pool.map(lambda _: client.get(kept).status_code, range(16))) == {200}
                assert set(pool.map(use_dropped, range(16))) == {201}
                assert client.delete(dropped).status_code == 204
                time.sleep(1.5)  # a worker looks for changes made by the others at most once a second
                assert set(pool.map(lambda _: client.get(dropped).status_code, range(16))) == {404}
                assert set(pool.map(use_dropped, range(16))) == {504}
    finally:
        broker.stop()
    broker = BrokerProcess(tmp_path, port=broker.port, env=store).start()
    try:
        with httpx.Client(base_url=broker.url + API, timeout=10) as client:
            assert client.get(kept).json() == {"@context": {"Kept": VOCAB + "Kept"}}
            listed = client.get("/jsonldContexts", params={"kind": "Hosted"}).json()
            assert [url.split(API, 1)[1] for url in listed] == [kept]
    finally:
        broker.stop()


def served_ids(client: httpx.Client, kind: str) -> set[str]:
    return {item["localId"] for item in details(client, kind=kind)}


@pytest.mark.stores("mongodb")
def test_brokers_of_two_machines_share_the_contexts_of_their_database(
    tmp_path: Path, store_url: str, context_server: ContextServer
) -> None:
    """Two brokers on one MongoDB, each with a data directory of its own (as on two machines): what one adds,
    deletes, fetches or reloads, the other sees (within a second where it keeps something in memory)."""
    brokers = [BrokerProcess(tmp_path / name, env={"SCIFI_STORE": store_url}).start() for name in ("a", "b")]
    try:
        with httpx.Client(base_url=brokers[0].url + API, timeout=10) as one, \
                httpx.Client(base_url=brokers[1].url + API, timeout=10) as other:
            check_hosted_contexts_are_shared(one, other)
            check_implicit_contexts_are_shared(one, other)
            check_cached_contexts_are_shared(one, other, context_server)
    finally:
        for broker in brokers:
            broker.stop()


def check_hosted_contexts_are_shared(one: httpx.Client, other: httpx.Client) -> None:
    context = {"Depot": VOCAB + "Depot", "bays": VOCAB + "bays"}
    path = add(one, context)
    local_id = path.rsplit("/", 1)[1]
    assert other.get(path).json() == {"@context": context}
    assert local_id in served_ids(other, "Hosted")
    url = f"http://unreachable.invalid:9{API}/jsonldContexts/{local_id}"  # only the database can give it

    def create(client: httpx.Client) -> int:
        entity = {"id": unique_id("Depot"), "type": "Depot", "bays": 3}
        created = client.post("/entities", json=entity, headers=link(url))
        if created.status_code == 201:
            assert client.get(f"/entities/{entity['id']}", params={"options": "keyValues"}).json() == {
                "id": entity["id"], "type": VOCAB + "Depot", VOCAB + "bays": 3}
        return created.status_code

    assert create(other) == 201
    assert one.delete(path).status_code == 204
    problem(other.get(path), 404, "ResourceNotFound")
    assert local_id not in served_ids(other, "Hosted")
    wait_until(lambda: create(other) == 504, timeout=3)  # the other broker forgets its copy within a second


def check_implicit_contexts_are_shared(one: httpx.Client, other: httpx.Client) -> None:
    context = [{"Kiosk": VOCAB + f"Kiosk{unique_id('k').rsplit(':', 1)[1]}"}, CORE_CONTEXT]
    entity = {"id": unique_id("Kiosk"), "type": "Kiosk", "@context": context}
    assert one.post("/entities", json=entity, headers=JSON_LD).status_code == 201
    [created] = served_ids(other, "ImplicitlyCreated")  # the database is the test's own
    assert other.get(f"/jsonldContexts/{created}").json() == {"@context": context}
    assert other.delete(f"/jsonldContexts/{created}").status_code == 204
    problem(one.get(f"/jsonldContexts/{created}"), 404, "ResourceNotFound")
    time.sleep(1.5)  # the first broker forgets that it made it
    again = {"id": unique_id("Kiosk"), "type": "Kiosk", "@context": context}
    assert one.post("/entities", json=again, headers=JSON_LD).status_code == 201
    assert other.get(f"/jsonldContexts/{created}").json() == {"@context": context}  # made anew


def check_cached_contexts_are_shared(one: httpx.Client, other: httpx.Client, context_server: ContextServer) -> None:
    document_path = f"/shared-{unique_id('c').rsplit(':', 1)[1]}.jsonld"
    context_server.documents[document_path] = {"@context": {"Depot": VOCAB + "Depot"}}
    url = context_server.url(document_path)
    for client in (one, other, one):
        created = client.post("/entities", json={"id": unique_id("Depot"), "type": "Depot"}, headers=link(url))
        assert created.status_code == 201, created.text
    assert context_server.hits[document_path] == 1  # fetched by the first broker only
    [info] = [item for item in details(other, kind="Cached") if item["URL"] == url]

    context_server.documents[document_path] = {"@context": {"Depot": VOCAB + "Depot", "level": VOCAB + "level"}}
    assert one.delete(f"/jsonldContexts/{info['localId']}", params={"reload": "true"}).status_code == 204
    assert context_server.hits[document_path] == 2

    def level_expanded() -> bool:
        entity_id = unique_id("Depot")
        entity = {"id": entity_id, "type": "Depot", "level": 1}
        assert other.post("/entities", json=entity, headers=link(url)).status_code == 201
        return VOCAB + "level" in other.get(f"/entities/{entity_id}").json()

    wait_until(level_expanded, timeout=3, interval=0.2)  # the other broker reads the reloaded copy
    assert context_server.hits[document_path] == 2

    assert other.delete(f"/jsonldContexts/{info['localId']}").status_code == 204
    assert url not in one.get("/jsonldContexts").json()
    time.sleep(1.5)  # the first broker forgets its copy
    created = one.post("/entities", json={"id": unique_id("Depot"), "type": "Depot"}, headers=link(url))
    assert created.status_code == 201 and context_server.hits[document_path] == 3  # fetched anew
