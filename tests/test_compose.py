"""docker-compose.yml exposes nothing without authentication: each service that publishes a port asks for
credentials (the broker for an API key, Mosquitto for a user and password), MongoDB publishes none; and the
broker and Mosquitto, run with the compose file's settings, refuse a client without credentials."""

from __future__ import annotations

import asyncio
import base64
import getpass
import hashlib
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
import yaml

from tests.conftest import API, ROOT, BrokerProcess, free_port
from tests.processes import stop_process
from tests.services import mosquitto_executable

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SECRETS_DIR = "/run/secrets/"
AUTH_SETTINGS = ("SCIFI_AUTH_API_KEYS", "SCIFI_AUTH_JWT_SECRET_FILE", "SCIFI_AUTH_JWT_PUBLIC_KEY",
                 "SCIFI_AUTH_JWKS_FILE")


def mounted_file(service: dict[str, Any], target: str) -> Path:
    """The repository file that a service's volume mounts at `target`."""
    for volume in service.get("volumes", []):
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == target:
            assert source.startswith("./"), volume
            return ROOT / source
    raise AssertionError(f"nothing is mounted at {target}")


def mounted_secret(service: dict[str, Any], path: str) -> str:
    """The name of the compose secret that the service reads at `path` (a secret is mounted in /run/secrets)."""
    assert path.startswith(SECRETS_DIR), path
    name = path.removeprefix(SECRETS_DIR)
    assert name in service.get("secrets", []) and name in COMPOSE["secrets"], name
    return name


def broker_environment() -> dict[str, str]:
    return {name: str(value) for name, value in SERVICES["broker"]["environment"].items()}


def mosquitto_config() -> str:
    command = SERVICES["mosquitto"]["command"].split()
    return mounted_file(SERVICES["mosquitto"], command[command.index("-c") + 1]).read_text()


def test_only_the_broker_and_mosquitto_publish_ports() -> None:
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"broker", "mosquitto"}
    assert "ports" not in SERVICES["mongo"] and "network_mode" not in SERVICES["mongo"]


def test_the_broker_asks_for_an_api_key_from_a_secret() -> None:
    environment = broker_environment()
    configured = [name for name in AUTH_SETTINGS if environment.get(name)]
    assert configured == ["SCIFI_AUTH_API_KEYS"]
    secret = mounted_secret(SERVICES["broker"], environment["SCIFI_AUTH_API_KEYS"])
    assert COMPOSE["secrets"][secret]["file"].startswith("./secrets/")
    assert "secrets/" in (ROOT / ".gitignore").read_text().splitlines()


def test_mosquitto_allows_no_anonymous_client() -> None:
    config = mosquitto_config()
    settings = [line.split(None, 1) for line in config.splitlines() if line.strip() and not line.startswith("#")]
    listeners = [value for key, value in settings if key == "listener"]
    assert listeners == ["1883"]
    assert ["allow_anonymous", "false"] in settings
    password_file = dict(settings)["password_file"]
    mounted_secret(SERVICES["mosquitto"], password_file)
    assert not any(key in ("per_listener_settings", "include_dir") for key, _ in settings)


def test_the_broker_with_the_compose_settings_refuses_a_client_without_a_key(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(32)
    keys = tmp_path / "api-keys.toml"  # as docs/security.md makes it
    keys.write_text(f'[keys.admin]\nsha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\ntenants = ["*"]\n'
                    f'write = true\n')
    environment = {name: value for name, value in broker_environment().items()
                   if name not in ("SCIFI_STORE", "SCIFI_WORKERS")}
    environment["SCIFI_AUTH_API_KEYS"] = str(keys)
    broker = BrokerProcess(tmp_path / "data", env=environment).start()
    try:
        assert httpx.get(broker.url + "/health", timeout=10).status_code == 200
        url = broker.url + API + "/types"
        assert httpx.get(url, timeout=10).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200
    finally:
        broker.stop()


def password_line(user: str, password: str) -> str:
    """A line of a Mosquitto password file, as mosquitto_passwd writes it ($7$: PBKDF2-SHA512)."""
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return f"{user}:$7$101${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}\n"


@pytest.fixture
def compose_mosquitto(tmp_path: Path) -> Iterator[int]:
    """Mosquitto with the compose file's configuration, on a free loopback port, its password file in tmp_path,
    running as the tests' user."""
    executable = mosquitto_executable()
    assert executable is not None, "no Mosquitto: run `make services`"
    port = free_port()
    passwords = tmp_path / "passwd"
    passwords.write_text(password_line("scifi", "notify-me"))
    passwords.chmod(0o600)
    config = re.sub(r"^password_file .*$", f"password_file {passwords}", mosquitto_config(), flags=re.MULTILINE)
    config = re.sub(r"^listener 1883$", f"listener {port} 127.0.0.1", config, flags=re.MULTILINE)
    config = f"user {getpass.getuser()}\n{config}"  # so that it reads the password file in tmp_path
    (tmp_path / "mosquitto.conf").write_text(config)
    process = subprocess.Popen([executable, "-c", str(tmp_path / "mosquitto.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        asyncio.run(_wait_for_port(port))
        yield port
    finally:
        stop_process(process)


async def _wait_for_port(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("Mosquitto did not listen")


async def _connects(port: int, username: str | None = None, password: str | None = None) -> bool:
    try:
        async with aiomqtt.Client("127.0.0.1", port, username=username, password=password, timeout=5):
            return True
    except aiomqtt.MqttError:
        return False


def test_mosquitto_with_the_compose_configuration_refuses_anonymous_clients(compose_mosquitto: int) -> None:
    assert not asyncio.run(_connects(compose_mosquitto))
    assert not asyncio.run(_connects(compose_mosquitto, "scifi", "wrong"))
    assert asyncio.run(_connects(compose_mosquitto, "scifi", "notify-me"))
