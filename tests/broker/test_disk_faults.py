"""Faults of the disk under a broker on the embedded store: the disk full, the data directory read-only. A write
then answers 503 ProblemDetails (not 500) and is not made, not even in part; reads go on; once space or
permission is back, the broker writes again without a restart.

The faults are real, not simulated in the broker: the tests run as root and mount a small filesystem of their
own for the data directory (a tmpfs, or an ext4 image on a loop device), then
- fill it with a file until the kernel answers ENOSPC (SQLite: SQLITE_FULL), and delete that file to make room;
- make the directory immutable (`chattr +i`, which root obeys too, unlike file modes): no file can be created
  in it, so a new tenant's database cannot be opened (SQLITE_CANTOPEN), until `chattr -i`;
- make the kernel remount the ext4 filesystem read-only, as it does on a disk error with errors=remount-ro
  (`/sys/fs/ext4/<device>/trigger_fs_error`): writes to the open database files then fail with EROFS
  (SQLITE_IOERR). Linux lets such a filesystem be written again only after it is unmounted and checked, so
  that test stops at "503 and reads go on". A plain `mount -o remount,ro` is refused while the broker holds
  its files open for writing, so it cannot stand in for the fault.
"""

from __future__ import annotations

import errno
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.broker.entity_helpers import unique_type
from tests.broker.test_store_faults import assert_unavailable, timed
from tests.conftest import API, BrokerProcess, unique_id

pytestmark = pytest.mark.stores("sqlite")


@contextmanager
def mounted(mount_point: Path, *source_and_options: str) -> Iterator[Path]:
    """A filesystem mounted at `mount_point` for the test (`mount <source_and_options> mount_point`)."""
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *source_and_options, str(mount_point)], check=True, capture_output=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["chattr", "-R", "-i", str(mount_point)], capture_output=True)
        subprocess.run(["umount", "-l", str(mount_point)], check=True, capture_output=True)


def fill(directory: Path) -> Path:
    """Writes a file in `directory` until the filesystem is full; the file."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb") as file:
        try:
            while True:
                file.write(chunk)
                file.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def entity(entity_type: str, size: int = 0) -> dict[str, object]:
    body: dict[str, object] = {"id": unique_id(entity_type), "type": entity_type}
    if size:
        body["note"] = {"type": "Property", "value": "x" * size}
    return body


def path_of(body: dict[str, object]) -> str:
    return f"/entities/{quote(str(body['id']), safe=':')}"


def test_a_full_disk_answers_503_writes_nothing_and_the_broker_writes_again_once_there_is_room(
        tmp_path: Path, store_kind: str) -> None:
    entity_type = unique_type()
    log = tmp_path / "broker.log"
    with mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=16m", "tmpfs") as disk:
        broker = BrokerProcess(disk / "data", env={"SCIFI_STORE": f"sqlite://{disk / 'data'}"}, stderr=log).start()
        try:
            with httpx.Client(base_url=broker.url + API, timeout=30) as api:
                kept = entity(entity_type)
                assert api.post("/entities", json=kept).status_code == 201
                filler = fill(disk)
                refused = entity(entity_type, size=400_000)
                assert_unavailable(*timed(lambda: api.post("/entities", json=refused)))
                batch = [entity(entity_type, size=100_000) for _ in range(4)]
                assert_unavailable(*timed(lambda: api.post("/entityOperations/create", json=batch)))
                grown = {"note": {"type": "Property", "value": "y" * 400_000}}
                assert_unavailable(*timed(lambda: api.post(path_of(kept) + "/attrs", json=grown)))
                assert api.get(path_of(kept)).json() == {"id": kept["id"], "type": entity_type}
                assert [api.get(path_of(body)).status_code for body in (refused, *batch)] == [404] * 5
                assert api.get("/entities", params={"type": entity_type}).status_code == 200

                filler.unlink()
                assert api.post("/entities", json=refused).status_code == 201
                assert api.post("/entityOperations/create", json=batch).status_code == 201
                assert api.post(path_of(kept) + "/attrs", json=grown).status_code == 204
                found = api.get("/entities", params={"type": entity_type, "limit": 100}).json()
                assert sorted(item["id"] for item in found) == sorted(str(body["id"]) for body in
                                                                       (kept, refused, *batch))
            assert broker.process is not None and broker.process.poll() is None, "the broker was not restarted"
        finally:
            broker.stop()
    assert "level=ERROR" not in log.read_text(), "a full disk is no internal error"


def test_an_immutable_data_directory_answers_503_and_the_broker_writes_again_once_it_may(
        tmp_path: Path, store_kind: str) -> None:
    """A new tenant needs a new database file in the data directory: while the directory may not be written,
    creating it answers 503 and reads of the existing tenant go on."""
    entity_type = unique_type()
    with mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=16m", "tmpfs") as disk:
        data = disk / "data"
        broker = BrokerProcess(data, env={"SCIFI_STORE": f"sqlite://{data}"}).start()
        try:
            with httpx.Client(base_url=broker.url + API, timeout=30) as api:
                kept = entity(entity_type)
                assert api.post("/entities", json=kept).status_code == 201
                tenant = {"NGSILD-Tenant": f"faults{uuid.uuid4().hex[:12]}"}
                subprocess.run(["chattr", "+i", str(data)], check=True)
                new = entity(entity_type)
                assert_unavailable(*timed(lambda: api.post("/entities", json=new, headers=tenant)))
                assert api.get(path_of(kept)).status_code == 200
                assert api.get(path_of(new), headers=tenant).status_code == 404

                subprocess.run(["chattr", "-i", str(data)], check=True)
                assert api.post("/entities", json=new, headers=tenant).status_code == 201
                assert api.get(path_of(new), headers=tenant).status_code == 200
        finally:
            broker.stop()


def test_a_filesystem_the_kernel_made_read_only_answers_503_and_reads_go_on(
        tmp_path: Path, store_kind: str) -> None:
    entity_type = unique_type()
    image = tmp_path / "disk.ext4"
    with image.open("wb") as file:
        file.truncate(32 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", str(image)], check=True, capture_output=True)
    with mounted(tmp_path / "disk", "-o", "loop,errors=remount-ro", str(image)) as disk:
        device = Path(subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(disk)], check=True, capture_output=True,
                                     text=True).stdout.strip()).name
        broker = BrokerProcess(disk / "data", env={"SCIFI_STORE": f"sqlite://{disk / 'data'}"}).start()
        try:
            with httpx.Client(base_url=broker.url + API, timeout=30) as api:
                kept = entity(entity_type)
                assert api.post("/entities", json=kept).status_code == 201
                Path(f"/sys/fs/ext4/{device}/trigger_fs_error").write_text("test: disk error\n")
                refused = entity(entity_type)
                assert_unavailable(*timed(lambda: api.post("/entities", json=refused)))
                batch = [entity(entity_type) for _ in range(3)]
                assert_unavailable(*timed(lambda: api.post("/entityOperations/create", json=batch)))
                assert api.get(path_of(kept)).status_code == 200
                assert [api.get(path_of(body)).status_code for body in (refused, *batch)] == [404] * 4
        finally:
            broker.stop()

