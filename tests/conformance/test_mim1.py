"""The MIM1 checks against our broker: all pass, clean up after themselves, and the options work."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from broker.cli import main
from conformance.client import BrokerClient
from conformance.registry import AREAS, REGISTRY, selected
from conformance.runner import sweep
from conformance.trial import Session
from tests.conformance.conftest import API, run_conformance
from tests.conftest import BrokerProcess, ContextServer, free_port


def _state(broker: BrokerProcess, tenant: str | None = None) -> tuple[object, object]:
    headers = {"NGSILD-Tenant": tenant} if tenant else {}
    types = httpx.get(broker.url + API + "/types", headers=headers).json()
    subscriptions = httpx.get(broker.url + API + "/subscriptions", headers=headers).json()
    return types.get("typeList"), subscriptions


def test_every_check_passes_against_our_broker(our_broker: BrokerProcess, tmp_path: Path) -> None:
    before = _state(our_broker)
    run = run_conformance(our_broker.url, tmp_path, "--mim1")
    failed = {r["id"]: (r["requirement"], r["observed"]) for r in run.report["mim1"]["results"]
              if r["outcome"] == "failed"}
    assert failed == {}
    assert run.status == 0
    assert run.report["mim1"]["checks"] == len(REGISTRY) >= 150
    # the optional features our broker lacks are reported as such, not failed
    assert run.outcomes("not offered") == {"optional.temporal.query", "optional.registrations.query",
                                           "optional.registrations.subscriptions"}
    # everything the checks wrote is gone, in the default tenant and in the run's own tenants
    assert _state(our_broker) == before
    tenant = run.report["runPrefix"].rstrip("-") + "a"
    assert _state(our_broker, tenant) == ([], [])


def test_read_only_runs_only_checks_that_write_nothing(our_broker: BrokerProcess, tmp_path: Path) -> None:
    before = _state(our_broker)
    run = run_conformance(our_broker.url, tmp_path, "--mim1", "--read-only")
    assert run.status == 0
    ran = {result["id"] for result in run.report["mim1"]["results"]}
    assert ran == {check.id for check in selected(None, True)}
    assert ran and all(not REGISTRY[check_id].writes for check_id in ran)
    assert _state(our_broker) == before


def test_only_runs_the_areas_named(our_broker: BrokerProcess, tmp_path: Path) -> None:
    run = run_conformance(our_broker.url, tmp_path, "--mim1", "--only", "tenancy,discovery")
    assert run.status == 0
    assert {result["area"] for result in run.report["mim1"]["results"]} == {"tenancy", "discovery"}


def test_every_check_has_an_id_of_its_area_a_clause_and_a_statement() -> None:
    selected(None, False)
    for check_id, check in REGISTRY.items():
        assert check.area in AREAS
        assert re.fullmatch(r"[a-z]+(\.[a-z0-9_]+)+", check_id), check_id
        assert re.fullmatch(r"\d+(\.\d+)*", check.clause), check_id
        assert check.statement and "\n" not in check.statement


def test_unreachable_broker_and_wrong_options_exit_2(tmp_path: Path) -> None:
    assert run_conformance("http://127.0.0.1:1", tmp_path, "--mim1").status == 2
    assert run_conformance("not-a-url", tmp_path, "--mim1").status == 2
    assert run_conformance("http://127.0.0.1:1", tmp_path, "--only", "nothing").status == 2


def test_the_sweep_removes_entities_of_the_run_left_behind(our_broker: BrokerProcess) -> None:
    async def leave_and_sweep() -> None:
        async with BrokerClient(our_broker.url) as client:
            session = Session(client, None, "", {})
            left = {"id": session.new_id("Left"), "type": session.type("Left")}
            other = {"id": "urn:ngsi-ld:Left:not-the-run", "type": session.type("Left")}
            for entity in (left, other):
                reply, _ = await client.request("POST", "/entities", json=entity)
                assert reply is not None and reply.status == 201
            await sweep(session)
            reply, _ = await client.request("GET", "/entities", params={"type": session.type("Left")})
            assert reply is not None and [e["id"] for e in reply.json()] == [other["id"]]  # only the run's own
            await client.request("DELETE", f"/entities/{other['id']}")

    asyncio.run(leave_and_sweep())


def test_context_names_the_context_the_checks_link(our_broker: BrokerProcess, context_server: ContextServer,
                                                    tmp_path: Path) -> None:
    context_server.documents["/city.jsonld"] = {"@context": {"@version": 1.1, "occupancy":
                                                             {"@id": "https://city.example/occupancy"}}}
    run = run_conformance(our_broker.url, tmp_path, "--mim1", "--only", "context", "--context",
                          context_server.url("/city.jsonld"))
    assert run.status == 0
    assert context_server.hits["/city.jsonld"] >= 1
    sent = [exchange["request"] for result in run.report["mim1"]["results"] for exchange in result["exchanges"]]
    assert any("occupancy" in request["body"] and "/city.jsonld" in request["headers"].get("Link", "")
               for request in sent)


def test_notifications_come_to_the_receiver_port_given(our_broker: BrokerProcess, tmp_path: Path) -> None:
    port = free_port()
    run = run_conformance(our_broker.url, tmp_path, "--mim1", "--only", "subscriptions", "--receiver-host",
                          "127.0.0.1", "--receiver-port", str(port))
    assert run.status == 0
    bodies = [exchange["request"]["body"] for result in run.report["mim1"]["results"]
              for exchange in result["exchanges"] if exchange["request"]["url"].endswith("/subscriptions")]
    assert bodies and all(f"http://127.0.0.1:{port}/notify/" in body for body in bodies if "endpoint" in body)


def test_list_prints_every_check_without_a_broker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(REGISTRY)
    location = "entities.create.location\t5.6.1\tCreate Entity answers 201 with a Location header naming the entity"
    assert location in lines
