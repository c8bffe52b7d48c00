"""The MongoDB server of the tests (tests/mongodb.py): it speaks MongoDB, with what the MongoDB store needs
(transactions, change streams, $geoNear), and a server stopped and started again keeps its data."""

from __future__ import annotations

import signal
from pathlib import Path

import pymongo
import pytest

from tests.conftest import free_port
from tests.mongodb import DATABASE_PREFIX, SecantusServer, drop_test_databases

DATABASE = f"{DATABASE_PREFIX}_fixture_check"


def test_the_shared_server_answers_as_a_one_node_replica_set(mongodb_url: str) -> None:
    with pymongo.MongoClient(mongodb_url, serverSelectionTimeoutMS=5000) as client:
        hello = client.admin.command("hello")
        assert hello["isWritablePrimary"] is True
        assert hello.get("setName"), "transactions and change streams need a replica set"


def test_a_transaction_commits_all_or_nothing(mongodb_url: str) -> None:
    with pymongo.MongoClient(mongodb_url, serverSelectionTimeoutMS=5000) as client:
        things = client[DATABASE]["things"]
        things.delete_many({})
        with client.start_session() as session:
            with session.start_transaction():
                things.insert_many([{"_id": "a"}, {"_id": "b"}], session=session)
            with pytest.raises(RuntimeError), session.start_transaction():
                things.insert_one({"_id": "c"}, session=session)
                raise RuntimeError("abort")
        assert sorted(document["_id"] for document in things.find()) == ["a", "b"]


def test_a_change_stream_sees_each_insert_in_order(mongodb_url: str) -> None:
    with pymongo.MongoClient(mongodb_url, serverSelectionTimeoutMS=5000) as client:
        changes = client[DATABASE]["changes"]
        with changes.watch(max_await_time_ms=200) as stream:
            changes.insert_many([{"n": 1}, {"n": 2}])
            seen = [stream.next()["fullDocument"]["n"] for _ in range(2)]
        assert seen == [1, 2]


def test_geo_near_orders_by_distance(mongodb_url: str) -> None:
    with pymongo.MongoClient(mongodb_url, serverSelectionTimeoutMS=5000) as client:
        places = client[DATABASE]["places"]
        places.drop()
        places.create_index([("g", pymongo.GEOSPHERE)])
        places.insert_many([{"_id": name, "g": {"type": "Point", "coordinates": [longitude, 51.0]}}
                            for name, longitude in (("far", 4.3), ("near", 4.01), ("middle", 4.1))])
        pipeline = [{"$geoNear": {"near": {"type": "Point", "coordinates": [4.0, 51.0]}, "key": "g",
                                  "distanceField": "distance", "spherical": True}}]
        assert [place["_id"] for place in places.aggregate(pipeline)] == ["near", "middle", "far"]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_server_started_again_has_its_data(tmp_path: Path, stop_signal: int) -> None:
    """What the fault tests rely on: the same port and the same data after a stop (a clean one, or a crash of
    a server that syncs each commit)."""
    server = SecantusServer(tmp_path, free_port(), sync_on_commit=stop_signal == signal.SIGKILL).start()
    try:
        with pymongo.MongoClient(server.url, serverSelectionTimeoutMS=5000) as client:
            client[DATABASE]["kept"].insert_one({"_id": "kept"})
        server.stop(stop_signal)
        server.start()
        with pymongo.MongoClient(server.url, serverSelectionTimeoutMS=5000) as client:
            assert client[DATABASE]["kept"].find_one() == {"_id": "kept"}
            drop_test_databases(server.url)
            assert DATABASE not in client.list_database_names()
    finally:
        server.stop()
