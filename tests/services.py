"""Mosquitto for the MQTT tests: found where it is, or unpacked from the Debian packages into .services/.

    python -m tests.services [--local]

`make test` runs this first. A Mosquitto already there (MOSQUITTO, .services/bin/mosquitto, PATH,
/usr/sbin/mosquitto) is used as it is. Otherwise, on Debian or Ubuntu, `apt-get download` fetches the
mosquitto package and those of its libraries the machine lacks, and `dpkg-deb -x` unpacks them into
.services/mosquitto: nothing is installed system-wide, no service is started, and no root is needed (only
`apt-get update`, when the package lists are empty, needs root). Elsewhere it says in one line what to do.
`--local` unpacks even when a Mosquitto is already there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / ".services"
WRAPPER = SERVICES / "bin" / "mosquitto"
PACKAGE = "mosquitto"
ELSEWHERE = ("install Mosquitto 2 yourself (brew install mosquitto, dnf install mosquitto, ...) "
             "and put it on PATH, or set MOSQUITTO=/path/to/mosquitto")


class CannotInstall(Exception):
    """Mosquitto cannot be installed here; the message says why."""


def mosquitto_executable() -> str | None:
    """The Mosquitto the tests start: MOSQUITTO, the unpacked one, PATH's, or the Debian package's."""
    candidates = (os.environ.get("MOSQUITTO"), str(WRAPPER), shutil.which("mosquitto"), "/usr/sbin/mosquitto")
    return next((found for found in candidates if found and os.access(found, os.X_OK)), None)


def _run(*command: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise CannotInstall(f"{command[0]} cannot be run ({exc.strerror})") from exc
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CannotInstall(f"`{' '.join(command)}` failed: {last_line}")
    return done.stdout


def _installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                          check=False)
    return done.returncode == 0 and done.stdout.endswith(" installed")


def _dependency_groups(package: str) -> list[list[str]]:
    """The package's Depends and PreDepends, each a list of alternatives (virtual packages left out)."""
    output = _run("apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                  "--no-replaces", "--no-enhances", package)
    groups: list[list[str]] = []
    open_group = False
    for line in output.splitlines():
        stripped = line.strip()
        if ":" not in stripped or not stripped.lstrip("|").startswith(("Depends:", "PreDepends:")):
            continue
        name = stripped.split(":", 1)[1].strip()
        if not open_group:
            groups.append([])
        if not name.startswith("<"):
            groups[-1].append(name)
        open_group = stripped.startswith("|")
    return [group for group in groups if group]


def _packages_to_unpack() -> list[str]:
    """mosquitto, and each dependency the machine lacks (the first alternative of an unmet group)."""
    wanted: list[str] = []
    queue = [PACKAGE]
    while queue:
        package = queue.pop()
        if package in wanted:
            continue
        wanted.append(package)
        for group in _dependency_groups(package):
            if not any(_installed(alternative) for alternative in group):
                queue.append(group[0])
    return wanted


def _download(packages: list[str], into: Path) -> None:
    try:
        _run("apt-get", "download", "-q", *packages, cwd=into)
    except CannotInstall:
        if os.geteuid() != 0:
            raise CannotInstall("the package lists may be empty: run `sudo apt-get update`, then `make test` "
                                "again") from None
        _run("apt-get", "update", "-q")
        _run("apt-get", "download", "-q", *packages, cwd=into)


def install_locally() -> Path:
    """Unpacks mosquitto and its missing libraries into .services/mosquitto; returns the wrapper to run."""
    for tool in ("apt-get", "apt-cache", "dpkg-deb", "dpkg-query"):
        if shutil.which(tool) is None:
            raise CannotInstall(f"this is not Debian or Ubuntu ({tool} is missing)")
    tree = SERVICES / "mosquitto"
    with tempfile.TemporaryDirectory() as downloads:
        _download(_packages_to_unpack(), Path(downloads))
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        for archive in sorted(Path(downloads).glob("*.deb")):
            _run("dpkg-deb", "-x", str(archive), str(tree))
    libraries = sorted({str(library.parent) for library in tree.glob("**/lib*.so*")})
    WRAPPER.parent.mkdir(parents=True, exist_ok=True)
    library_path = f'LD_LIBRARY_PATH="{":".join(libraries)}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}" ' * bool(libraries)
    WRAPPER.write_text("#!/bin/sh\n# Mosquitto unpacked by `python -m tests.services`, with its libraries.\n"
                       f'{library_path}exec "{tree / "usr" / "sbin" / "mosquitto"}" "$@"\n')
    WRAPPER.chmod(0o755)
    check = subprocess.run([str(WRAPPER), "-h"], capture_output=True, text=True, check=False)
    if "mosquitto version" not in check.stdout:
        raise CannotInstall(f"the unpacked mosquitto does not run: {(check.stderr.strip() or 'no message')}")
    return WRAPPER


def main(argv: list[str]) -> int:
    found = mosquitto_executable()
    if found is not None and "--local" not in argv:
        return 0
    try:
        wrapper = install_locally()
    except CannotInstall as exc:
        print(f"make test: cannot install Mosquitto for the MQTT tests: {exc}; or {ELSEWHERE}", file=sys.stderr)
        return 1
    print(f"make test: Mosquitto unpacked into {SERVICES} (no system service); the tests run {wrapper}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
