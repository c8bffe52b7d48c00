"""Mosquitto for the MQTT tests, and wrk for the benchmarks: found where they are, or unpacked from the Debian
packages into .services/.

    python -m tests.services [mosquitto|wrk] [--local]

`make test` runs this first (for Mosquitto), `make bench` with `wrk`. A program already there (MOSQUITTO or
WRK, .services/bin/NAME, PATH, /usr/sbin or /usr/bin) is used as it is. Otherwise, on Debian or Ubuntu,
`apt-get download` fetches its package and those of its libraries the machine lacks, and `dpkg-deb -x` unpacks
them into .services/NAME, with a wrapper .services/bin/NAME that sets the library path: nothing is installed
system-wide, no service is started, and no root is needed (only `apt-get update`, when the package lists are
empty, needs root). Elsewhere it says in one line what to do. `--local` unpacks even when one is already there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / ".services"


@dataclass(frozen=True)
class Service:
    """A program unpacked from a Debian package: where it lies in the package, and how to check that it runs."""
    name: str
    title: str
    command: str  # the make target that provides it
    executable: str  # inside the unpacked tree
    version_option: str
    version_text: str  # what its version output contains
    purpose: str
    elsewhere: str
    preferred: tuple[str, ...] = ()  # alternatives of a dependency taken before the first one

    @property
    def wrapper(self) -> Path:
        return SERVICES / "bin" / self.name

    @property
    def tree(self) -> Path:
        return SERVICES / self.name


MOSQUITTO = Service("mosquitto", "Mosquitto", "make test", "usr/sbin/mosquitto", "-h", "mosquitto version",
                    "the MQTT tests",
                    "install Mosquitto 2 yourself (brew install mosquitto, dnf install mosquitto, ...) "
                    "and put it on PATH, or set MOSQUITTO=/path/to/mosquitto")
# LuaJIT 2.1 of OpenResty (libluajit2), the better kept of the two that wrk's package accepts.
WRK = Service("wrk", "wrk", "make bench", "usr/bin/wrk", "-v", "[epoll]", "the benchmarks",
              "install wrk 4 yourself (brew install wrk, dnf install wrk, ...) and put it on PATH, "
              "or set WRK=/path/to/wrk", preferred=("libluajit2-5.1-2",))
SERVICES_BY_NAME = {service.name: service for service in (MOSQUITTO, WRK)}


class CannotInstall(Exception):
    """The program cannot be installed here; the message says why."""


def executable(service: Service) -> str | None:
    """The program to run: its environment variable, the unpacked one, PATH's, or the Debian package's."""
    candidates = (os.environ.get(service.name.upper()), str(service.wrapper), shutil.which(service.name),
                  f"/usr/sbin/{service.name}", f"/usr/bin/{service.name}")
    return next((found for found in candidates if found and os.access(found, os.X_OK)), None)


def mosquitto_executable() -> str | None:
    """The Mosquitto the tests start: MOSQUITTO, the unpacked one, PATH's, or the Debian package's."""
    return executable(MOSQUITTO)


def wrk_executable() -> str | None:
    """The wrk the benchmarks run: WRK, the unpacked one, PATH's, or the Debian package's."""
    return executable(WRK)


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


def _packages_to_unpack(service: Service = MOSQUITTO) -> list[str]:
    """The service's package, and each dependency the machine lacks (of an unmet group, the preferred
    alternative, else the first)."""
    wanted: list[str] = []
    queue = [service.name]
    while queue:
        package = queue.pop()
        if package in wanted:
            continue
        wanted.append(package)
        for group in _dependency_groups(package):
            if not any(_installed(alternative) for alternative in group):
                queue.append(next((name for name in group if name in service.preferred), group[0]))
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


def install_locally(service: Service = MOSQUITTO) -> Path:
    """Unpacks the service's package and its missing libraries into .services/NAME; returns the wrapper to run."""
    for tool in ("apt-get", "apt-cache", "dpkg-deb", "dpkg-query"):
        if shutil.which(tool) is None:
            raise CannotInstall(f"this is not Debian or Ubuntu ({tool} is missing)")
    tree = service.tree
    with tempfile.TemporaryDirectory() as downloads:
        _download(_packages_to_unpack(service), Path(downloads))
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        for archive in sorted(Path(downloads).glob("*.deb")):
            _run("dpkg-deb", "-x", str(archive), str(tree))
    libraries = sorted({str(library.parent) for library in tree.glob("**/lib*.so*")})
    wrapper = service.wrapper
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    library_path = f'LD_LIBRARY_PATH="{":".join(libraries)}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}" ' * bool(libraries)
    wrapper.write_text(f"#!/bin/sh\n# {service.name} unpacked by `python -m tests.services`, with its libraries.\n"
                       f'{library_path}exec "{tree / service.executable}" "$@"\n')
    wrapper.chmod(0o755)
    check = subprocess.run([str(wrapper), service.version_option], capture_output=True, text=True, check=False)
    if service.version_text not in check.stdout:
        raise CannotInstall(f"the unpacked {service.name} does not run: {(check.stderr.strip() or 'no message')}")
    return wrapper


def main(argv: list[str]) -> int:
    names = [argument for argument in argv if not argument.startswith("-")] or [MOSQUITTO.name]
    unknown = [name for name in names if name not in SERVICES_BY_NAME]
    if unknown:
        print(f"tests.services: unknown program {unknown[0]} (known: {', '.join(SERVICES_BY_NAME)})",
              file=sys.stderr)
        return 2
    return max(_provide(SERVICES_BY_NAME[name], "--local" in argv) for name in names)


def _provide(service: Service, local: bool) -> int:
    """0 once the service is there (found, or unpacked when absent or `local`), else 1 and one line why."""
    if executable(service) is not None and not local:
        return 0
    try:
        wrapper = install_locally(service)
    except CannotInstall as exc:
        print(f"{service.command}: cannot install {service.title} for {service.purpose}: {exc}; or {service.elsewhere}",
              file=sys.stderr)
        return 1
    print(f"{service.command}: {service.title} unpacked into {SERVICES} (no system service); "
          f"{service.purpose} run {wrapper}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
