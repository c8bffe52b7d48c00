"""Start-up mistakes, as `scifi serve` processes: each is one line on stderr naming the setting, the value and
what is allowed, with exit status 2 (no traceback); and the settings' documentation (--help, the README)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from broker.settings import settings_table
from tests.conftest import API, DATA, ROOT, BrokerProcess, link, unique_id

TREE = DATA / "smart-data-models"
PARKING_CONTEXT = "https://smart-data-models.github.io/dataModel.Parking/context.jsonld"


def serve(*arguments: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`scifi serve ARGUMENTS`, expected to stop before it listens (on a port nothing else uses, to be safe)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SCIFI_")}
    command = [sys.executable, "-m", "broker.cli", "serve", "--host", "127.0.0.1", "--port", "1", *arguments]
    return subprocess.run(command, cwd=cwd, env={**environment, **(env or {})}, capture_output=True, text=True,
                          timeout=60)


def assert_one_line(run: subprocess.CompletedProcess[str], *expected: str) -> None:
    lines = run.stderr.splitlines()
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1 and lines[0].startswith("scifi serve: "), run.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def config(tmp_path: Path, text: str) -> dict[str, str]:
    file = tmp_path / "scifi.toml"
    file.write_text(text)
    return {"SCIFI_SDM_CONFIG": str(file)}


@pytest.mark.parametrize(("arguments", "expected"), [
    (["--store", "mongodb://a:1,b:2/?directConnection=true"], ["--store mongodb://a:1,b:2/?directConnection=true",
                                                               "not a MongoDB URL", "allowed: mongodb://"]),
    (["--store", "postgres://x"], ["--store postgres://x", "allowed: sqlite://", "mongodb://"]),
    (["--log-level", "verbose"], ["--log-level verbose", "allowed: debug, info, warning, error"]),
    (["--data-dir", "/proc/nope"], ["--data-dir /proc/nope", "cannot be created"]),
    (["--workers", "0"], ["--workers 0", "more than 0"]),
    (["--workers", "two"], ["--workers two", "a whole number"]),
    (["--sdm-policy", "strict"], ["--sdm-policy strict", "allowed: off, warn, enforce"]),
    (["--sdm-dir", "/no/such/tree"], ["--sdm-dir /no/such/tree", "no such folder"]),
    (["--sdm-config", "/no/such/scifi.toml"], ["--sdm-config /no/such/scifi.toml", "no such file"]),
])
def test_a_wrong_flag_is_one_line(tmp_path: Path, arguments: list[str], expected: list[str]) -> None:
    assert_one_line(serve("--data-dir", str(tmp_path / "data"), *arguments), *expected)


def test_a_wrong_variable_is_named_as_such(tmp_path: Path) -> None:
    run = serve("--data-dir", str(tmp_path), env={"SCIFI_PAGE_SIZE": "-5"})
    assert_one_line(run, "SCIFI_PAGE_SIZE=-5", "more than 0")


@pytest.mark.parametrize(("text", "expected"), [
    ('[smart_data_models]\npolicy = "warn\n', ["not valid TOML", "line 2"]),
    ('[smart_data_models]\npolicy = "strict"\n', ['policy = "strict"', "allowed: off, warn, enforce"]),
    ('[smart_data_models.tenants.city]\npolicy = "strict"\n', ["[smart_data_models.tenants.city] policy",
                                                               '"strict"', "allowed: off, warn, enforce"]),
    ('[smart_data_model]\npolicy = "enforce"\n',
     ["unknown section [smart_data_model]", "allowed: [smart_data_models]"]),
    ('[smart_data_models]\npolicy = "enforce"\nmodel = ["dataModel.Parking/ParkingSpot"]\n',
     ["unknown key model", "allowed: dir, policy, models, tenants"]),
    ('[smart_data_models]\ndir = "no-such-tree"\npolicy = "warn"\n', ['dir = "no-such-tree"', "no such folder"]),
    ('[smart_data_models]\npolicy = "warn"\nmodels = "dataModel.Parking/ParkingSpot"\n', ["models", "a list"]),
])
def test_a_wrong_configuration_file_is_one_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    run = serve("--data-dir", str(tmp_path / "data"), env=config(tmp_path, text))
    assert_one_line(run, str(tmp_path / "scifi.toml"), *expected)


def test_a_model_missing_from_the_tree_is_one_line(tmp_path: Path) -> None:
    text = f'[smart_data_models]\ndir = "{TREE}"\npolicy = "warn"\nmodels = ["dataModel.Parking/NoSuchModel"]\n'
    assert_one_line(serve("--data-dir", str(tmp_path / "data"), env=config(tmp_path, text)),
                    "dataModel.Parking/NoSuchModel", "not available")


def test_a_relative_dir_is_read_relative_to_the_configuration_file(tmp_path: Path) -> None:
    """The file lies elsewhere than the broker's working directory; its `dir` is relative to the file."""
    folder = tmp_path / "etc"
    folder.mkdir()
    relative = os.path.relpath(TREE, folder)
    env = config(folder, f'[smart_data_models]\ndir = "{relative}"\npolicy = "enforce"\n'
                         'models = ["dataModel.Parking/ParkingSpot"]\n')
    broker = BrokerProcess(tmp_path / "data", env=env).start()
    try:
        entity = {"id": unique_id("ParkingSpot"), "type": "ParkingSpot", "status": {"type": "Property", "value": 7}}
        answer = httpx.post(broker.url + API + "/entities", json=entity, headers=link(PARKING_CONTEXT), timeout=10)
        assert answer.status_code == 400 and answer.json()["model"] == "dataModel.Parking/ParkingSpot"
    finally:
        broker.stop()


def test_serve_help_shows_every_setting_with_its_variable_and_default() -> None:
    run = subprocess.run([sys.executable, "-m", "broker.cli", "serve", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "400"})
    assert run.returncode == 0
    for expected in ("--port PORT", "(SCIFI_PORT, default: 1026)", "(SCIFI_NOTIFICATION_POLL, default: 0.05)",
                     "(SCIFI_STORE, default: sqlite://<data-dir>)", "--max-page-size"):
        assert expected in run.stdout


def test_the_readme_table_of_settings_is_the_generated_one() -> None:
    """`python -m broker.settings` prints the table; the README carries it as it is."""
    readme = (ROOT / "README.md").read_text()
    assert settings_table() in readme, "README.md: paste the output of `python -m broker.settings`"
