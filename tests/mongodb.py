"""A MongoDB server for the tests: SecantusDB on a free loopback port, or the real MongoDB that MONGODB_URL names.

SecantusDB (PyPI `secantusdb`, in the `test` extra) speaks MongoDB's wire protocol on WiredTiger and presents
itself as a one-node replica set (`setName: secantus`), so transactions and change streams work. The tests
start it themselves, with its data in a temporary folder; nothing needs to run beforehand.

With MONGODB_URL set, the session's broker (the HTTP API suite) runs against that server instead. The tests
own its databases whose names start with `scifi`: they drop them before and after the session. Tests that
need an empty store for a broker of their own (`store_url`), or stop and restart the database server (the
fault tests), always start a SecantusDB of their own.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pymongo
import pymongo.errors

from tests.processes import stop_process

__all__ = ["DATABASE_PREFIX", "SecantusServer", "drop_test_databases", "given_url", "wait_for_server"]

DATABASE_PREFIX = "scifi"
"""The names of the broker's databases (one per tenant) start with it."""
START_TIMEOUT = 30.0


def given_url() -> str | None:
    """The real MongoDB the tests should use (MONGODB_URL), if any."""
    return os.environ.get("MONGODB_URL") or None


def wait_for_server(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Returns once the server at `url` answers `ping`; RuntimeError after `timeout` or if `process` ends."""
    with warnings.catch_warnings():
        # pymongo leaves the socket of an attempt the server refused to be closed by the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
        _ping_until_answered(url, timeout, process)
        gc.collect()


def _ping_until_answered(url: str, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    with pymongo.MongoClient(url, serverSelectionTimeoutMS=250, connectTimeoutMS=250) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the MongoDB server exited with {process.returncode}")
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no MongoDB server answered at {url} within {timeout:.0f} s") from None
                time.sleep(0.05)


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    """Returns once the port takes connections, asked with a plain socket that is always closed (the driver
    leaves the socket of a refused connection open, which the tests' warning filter turns into an error)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def drop_test_databases(url: str) -> None:
    """Drops the databases of the broker (names starting with `scifi`) on the server at `url`."""
    with pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000) as client:
        for name in client.list_database_names():
            if name.startswith(DATABASE_PREFIX):
                client.drop_database(name)


class SecantusServer:
    """A SecantusDB server process on loopback, its data (WiredTiger files) and log in `directory`. It can be
    stopped and started again: it comes back on the same port with the same data. With `sync_on_commit`, each
    commit is on disk before it is acknowledged, so that even a killed server keeps what it acknowledged."""

    def __init__(self, directory: Path, port: int, *, sync_on_commit: bool = False) -> None:
        self.directory = directory
        self.port = port
        self.sync_on_commit = sync_on_commit
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def log_file(self) -> Path:
        return self.directory / "secantus.log"

    def start(self) -> SecantusServer:
        """Starts the server and waits until it answers; RuntimeError (with the end of its log) otherwise."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "secantusd.toml"
        config.touch()  # given, it keeps a secantusd.toml of the working or home directory from being read
        command = [sys.executable, "-m", "secantus", "--config", str(config), "--host", "127.0.0.1",
                   "--port", str(self.port), "--storage-path", str(self.directory / "data"),
                   "--log-level", "WARNING", "--cache-size", "128M"]
        command += ["--sync-on-commit"] if self.sync_on_commit else []
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            _wait_for_port(self.port, START_TIMEOUT, self.process)
            wait_for_server(self.url, START_TIMEOUT, self.process)
        except RuntimeError as exc:
            self.stop()
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"SecantusDB did not start: {exc}\n" + "\n".join(tail)) from None
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits until it has exited."""
        stop_process(self.process, sig)
        self.process = None

    def __enter__(self) -> SecantusServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
