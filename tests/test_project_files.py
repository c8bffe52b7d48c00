"""The files around the code: the licence, the container image's build context and health check."""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import sys
import tomllib
from urllib.parse import parse_qs, urlsplit

from tests.conftest import ROOT, BrokerProcess, free_port


def test_the_licence_is_the_apache_2_0_text_that_pyproject_names() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "Apache-2.0"  # SPDX
    assert "Apache License\n                           Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence and "APPENDIX: How to apply the Apache License" in licence


def dockerignored() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_build_context_leaves_out_the_venv_data_caches_and_git() -> None:
    patterns = dockerignored()
    for path in (".venv", "data", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
                 "broker/__pycache__", ".services"):
        assert any(fnmatch.fnmatch(path, pattern.removeprefix("**/")) or fnmatch.fnmatch(path, pattern)
                   for pattern in patterns), path


def test_what_the_dockerfile_copies_is_in_the_build_context() -> None:
    copied = re.findall(r"^COPY (.+) \S+$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    sources = [source for line in copied for source in line.split()]
    assert "broker" in sources
    for source in sources:
        assert (ROOT / source).exists() and source not in dockerignored(), source


def health_check_command() -> str:
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*? CMD (.+)$", dockerfile, re.MULTILINE)
    assert match is not None
    assert match.group(1).startswith("python ")
    return shlex.quote(sys.executable) + match.group(1).removeprefix("python")


def test_the_health_check_follows_the_configured_port(broker: BrokerProcess) -> None:
    """The image runs `scifi serve` with its settings from SCIFI_* variables; the health check asks the
    broker on SCIFI_PORT, whichever it is."""
    assert re.search(r'^CMD \["scifi", "serve"\]$', (ROOT / "Dockerfile").read_text(), re.MULTILINE)

    def health_check(port: int) -> int:
        environment = {**os.environ, "SCIFI_PORT": str(port)}
        return subprocess.run(["sh", "-c", health_check_command()], env=environment, capture_output=True,
                              timeout=30).returncode

    assert health_check(broker.port) == 0
    assert health_check(free_port()) != 0


def test_the_compose_file_runs_the_broker_on_the_replica_set_it_initiates() -> None:
    """docker-compose.yml: the broker's store URL names the replica set that the MongoDB service runs and
    initiates, at the address of the set's member, which is that service; Mosquitto runs beside them."""
    text = (ROOT / "docker-compose.yml").read_text()
    store = re.search(r'SCIFI_STORE: "(mongodb://[^"]+)"', text)
    replica_set = re.search(r'"--replSet", "([\w-]+)"', text)
    initiated = re.search(r'rs\.initiate\(\{_id: "([\w-]+)", members: \[\{_id: 0, host: "([\w-]+):(\d+)"\}\]\}\)', text)
    assert store and replica_set and initiated
    url = urlsplit(store.group(1))
    assert parse_qs(url.query)["replicaSet"] == [replica_set.group(1)] == [initiated.group(1)]
    assert url.netloc == f"{initiated.group(2)}:{initiated.group(3)}"
    for service in (initiated.group(2), "mosquitto", "broker"):
        assert re.search(rf"^  {service}:$", text, re.MULTILINE), service
