"""What `make test` installs for the tests (tests/services.py): the Mosquitto it finds, and one line where it
cannot install one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services
from tests.conftest import ROOT


def test_mosquitto_from_the_environment_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "mosquitto"
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    monkeypatch.setenv("MOSQUITTO", str(own))
    assert services.mosquitto_executable() == str(own)
    monkeypatch.setenv("MOSQUITTO", str(tmp_path / "not-there"))
    assert services.mosquitto_executable() != str(tmp_path / "not-there")


def test_where_it_cannot_install_it_says_so_in_one_line(tmp_path: Path) -> None:
    """Without apt-get (not Debian), `--local` (unpack even though one is there) cannot: one line, exit 1,
    and nothing is written into .services/."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    before = sorted((ROOT / ".services").rglob("*")) if (ROOT / ".services").exists() else []
    run = subprocess.run([str(bin_dir / "python"), "-m", "tests.services", "--local"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PATH": str(bin_dir)})
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.splitlines() == [
        "make test: cannot install Mosquitto for the MQTT tests: this is not Debian or Ubuntu (apt-get is missing); "
        "or install Mosquitto 2 yourself (brew install mosquitto, dnf install mosquitto, ...) and put it on PATH, "
        "or set MOSQUITTO=/path/to/mosquitto"]
    assert (sorted((ROOT / ".services").rglob("*")) if (ROOT / ".services").exists() else []) == before


def test_dependencies_the_machine_lacks_are_unpacked_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first alternative of each unmet dependency group, followed recursively; met groups are left out."""
    depends = {"mosquitto": [["libc6"], ["libcjson1"], ["libelogind0", "libsystemd0"], ["libwrap0"]],
               "libcjson1": [["libc6"]], "libwrap0": [["libnsl2"]], "libnsl2": [["libc6"]]}
    installed = {"libc6", "libsystemd0", "libnsl2"}
    monkeypatch.setattr(services, "_dependency_groups", lambda package: depends.get(package, []))
    monkeypatch.setattr(services, "_installed", lambda package: package in installed)
    assert sorted(services._packages_to_unpack()) == ["libcjson1", "libwrap0", "mosquitto"]


def test_apt_cache_depends_is_read_as_groups_of_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    output = ("mosquitto\n  PreDepends: init-system-helpers\n  Depends: libc6\n |Depends: libelogind0\n"
              "  Depends: libsystemd0\n  Depends: <debconf-2.0>\n    cdebconf\n    debconf\n  Recommends: x\n")
    monkeypatch.setattr(services, "_run", lambda *command, cwd=None: output)
    assert services._dependency_groups("mosquitto") == [["init-system-helpers"], ["libc6"],
                                                         ["libelogind0", "libsystemd0"]]
