"""The broker over HTTP under wrk: `scifi serve --workers 2` on the embedded store, each figure beside the
ceiling (bench/ceiling.py, a trivial endpoint on the same stack) measured in the same run.

    python -m bench.http [--only SCENARIO ...] [--duration S] [--workers W] [--json FILE]
                         [--store sqlite|mongodb]

Scenarios (all by default, in this order): get, query, patch, creates, rate, batch, subscription, rss,
notifications. 10,000 OffStreetParking entities (bench.entities.parking) are loaded first through batch
upserts of 1,000; `rss` tops them up to 100,000 (--rss-entities). wrk runs with 2 threads and 32 connections
(4 for batches) for S seconds (default 10) per run, with the Lua scripts of bench/wrk/ (`python -m
tests.services wrk` unpacks it). After each run the harness waits until the server is idle again: what wrk
left in flight when it stopped would slow the next run down.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.entities import ROOT, parking
from bench.stores import STORES, store_url

SCRIPTS = ROOT / "bench" / "wrk"
BROKER_PORT = 18980
CEILING_PORT = 18981
RECEIVER_PORT = 18982
THREADS = 2
CONNECTIONS = 32
BATCH_CONNECTIONS = 4
LOADED = 10_000
STORED_FOR_RSS = 100_000
BATCH = 1000
SCENARIOS = ("get", "query", "patch", "creates", "rate", "batch", "subscription", "rss", "notifications")
WRK_LINE = "WRK_JSON "


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run measured (from the JSON line of bench/wrk/common.lua), and wrk's own CPU time."""
    requests: int
    duration_s: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s

    @property
    def cpu_share(self) -> float:
        """wrk's CPU time over the run's duration: 1.0 is one core busy all along."""
        return self.cpu_s / self.duration_s


@dataclass(frozen=True)
class Figure:
    """One row of the table: a measured figure, its target (`>=` or `<=` a bound) and the ceiling's figure."""
    name: str
    unit: str
    measured: float
    comparison: str
    bound: float
    ceiling: float | None = None
    note: str = ""

    @property
    def met(self) -> bool:
        return self.measured >= self.bound if self.comparison == ">=" else self.measured <= self.bound

    @property
    def ratio(self) -> float | None:
        return self.measured / self.ceiling if self.ceiling else None


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    runs: dict[str, WrkRun] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"figures": [asdict(figure) for figure in self.figures],
                "runs": {label: {**asdict(run), "rate": run.rate, "cpu_share": run.cpu_share}
                         for label, run in self.runs.items()}}


def parse_wrk(output: str, cpu_s: float = 0.0) -> WrkRun:
    """The figures of wrk's output: its `WRK_JSON {...}` line (printed by the scripts' done())."""
    lines = [line for line in output.splitlines() if line.startswith(WRK_LINE)]
    if not lines:
        raise RuntimeError(f"wrk printed no {WRK_LINE.strip()} line:\n{output}")
    figures = json.loads(lines[-1][len(WRK_LINE):])
    latency = figures["latency_us"]
    return WrkRun(
        requests=figures["requests"], duration_s=figures["duration_us"] / 1e6, non2xx=figures["non2xx"],
        socket_errors=sum(figures[name] for name in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        p50_ms=latency["p50"] / 1000, p90_ms=latency["p90"] / 1000, p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000, cpu_s=cpu_s)


def wrk_executable() -> str:
    from tests.services import wrk_executable as found

    executable = found()
    if executable is None:
        raise SystemExit("bench.http: wrk is missing: run `python -m tests.services wrk` (or `make bench`)")
    return executable


def run_wrk(url: str, script: str, duration: float, *args: object, connections: int = CONNECTIONS,
            headers: tuple[str, ...] = ()) -> WrkRun:
    """Runs wrk against `url` with bench/wrk/`script`.lua; its arguments follow `--`."""
    command = [wrk_executable(), f"-t{min(THREADS, connections)}", f"-c{connections}", f"-d{duration:g}s",
               "--timeout", "30s", "-s", str(SCRIPTS / f"{script}.lua")]
    for header in headers:
        command += ["-H", header]
    command += [url, "--", *map(str, args)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    with process.stdout:
        output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed:\n{output}")
    return parse_wrk(output, usage.ru_utime + usage.ru_stime)


def _request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{method} {url}: {exc.code} {exc.read()[:300]!r}") from None


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"the server of {url} exited ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def _server(command: list[str], ready_url: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """Runs a server until the block ends; yields its process id."""
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})})
    try:
        _wait_ready(ready_url, process)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def broker(workers: int, store: str) -> Iterator[int]:
    """`scifi serve` on an empty store of the kind, at BROKER_PORT; yields the main process's id."""
    with tempfile.TemporaryDirectory() as directory, store_url(store) as url:
        command = [sys.executable, "-m", "broker.cli", "serve", "--host", "127.0.0.1", "--port", str(BROKER_PORT),
                   "--data-dir", directory, "--log-level", "warning", "--workers", str(workers)]
        with _server(command, f"http://127.0.0.1:{BROKER_PORT}/health", {"SCIFI_STORE": url}) as pid:
            yield pid


@contextmanager
def ceiling(workers: int, port: int = CEILING_PORT) -> Iterator[int]:
    command = [sys.executable, "-m", "bench.ceiling", "--port", str(port), "--workers", str(workers)]
    with _server(command, f"http://127.0.0.1:{port}/") as pid:
        yield pid


def load(base: str, first: int, end: int) -> float:
    """Upserts parking(first) ... parking(end - 1) in batches of BATCH, two at a time; returns entities/s."""
    def upsert(start: int) -> None:
        batch = [parking(number) for number in range(start, min(start + BATCH, end))]
        _request("POST", f"{base}/ngsi-ld/v1/entityOperations/upsert", batch)

    began = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(upsert, range(first, end, BATCH)))
    return (end - first) / (time.perf_counter() - began)


def _process_tree(main_pid: int) -> list[int]:
    """The process and its children (uvicorn's workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == main_pid:
            children.append(int(stat.parent.name))
    return [main_pid, *children]


def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime and stime
    return total


def wait_idle(main_pid: int, timeout: float = 120.0) -> None:
    """Waits until the server uses less than a tenth of a core: requests that wrk left in flight when it stopped
    (batches of 1,000 queue for seconds) are still being served, and would slow the next run down."""
    pids = _process_tree(main_pid)
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _cpu_ticks(pids)
        time.sleep(0.5)
        if (_cpu_ticks(pids) - before) / ticks_per_second < 0.05:
            return
    print(f"  warning: the server of process {main_pid} was still busy after {timeout:.0f} s")


def worker_rss_mb(main_pid: int) -> tuple[float, int]:
    """The RSS (MB) of the server's worker processes (the children uvicorn spawned), per worker, and their
    number; the main process itself when it has no workers."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields["PPid"]) == main_pid and b"resource_tracker" not in cmdline:
            children.append(int(fields["VmRSS"].split()[0]))
    if not children:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{main_pid}/status").read_text().splitlines())
        children = [int(fields["VmRSS"].split()[0])]
    return sum(children) / len(children) / 1024, len(children)


class Harness:
    """The scenarios, on one broker and one ceiling, each printed as it is measured."""

    def __init__(self, duration: float, workers: int, broker_pid: int, ceiling_pid: int, store: str,
                 stored_for_rss: int = STORED_FOR_RSS) -> None:
        self.duration = duration
        self.stored_for_rss = stored_for_rss
        self.store = store
        self.workers = workers
        self.broker_pid = broker_pid
        self.ceiling_pid = ceiling_pid
        self.base = f"http://127.0.0.1:{BROKER_PORT}"
        self.ceiling_base = f"http://127.0.0.1:{CEILING_PORT}"
        self.results = Results()
        self.run_tag = str(int(time.time()))
        self.stored = LOADED

    def wrk(self, label: str, url: str, script: str, *args: object, **options: Any) -> WrkRun:
        run = run_wrk(url, script, self.duration, *args, **options)
        wait_idle(self.ceiling_pid if url == self.ceiling_base else self.broker_pid)
        self.results.runs[label] = run
        print(f"  {label}: {run.rate:,.0f} requests/s, p99 {run.p99_ms:.1f} ms, non-2xx {run.non2xx}, "
              f"socket errors {run.socket_errors}, wrk CPU {run.cpu_share:.0%} of a core", flush=True)
        if run.non2xx or run.socket_errors:
            print(f"  warning: {label} had {run.non2xx} non-2xx answers and {run.socket_errors} socket errors")
        return run

    def pair(self, label: str, script: str, *args: object, **options: Any) -> tuple[WrkRun, WrkRun]:
        """The same script against the broker and against the ceiling."""
        return (self.wrk(label, self.base, script, *args, **options),
                self.wrk(f"{label} (ceiling)", self.ceiling_base, script, *args, **options))

    def add(self, figure: Figure) -> None:
        self.results.figures.append(figure)

    def get(self) -> None:
        mine, top = self.pair("GET by id", "get", LOADED)
        self.add(Figure("GET /entities/{id}, random of 10k", "requests/s", mine.rate, ">=", 7700, top.rate))

    def query(self) -> None:
        mine, top = self.pair("type + q query", "query")
        self.add(Figure("type + q query pages (limit 20, 10k entities)", "pages/s", mine.rate, ">=", 3500,
                        top.rate))

    def patch(self) -> None:
        mine, top = self.pair("PATCH one attribute", "patch", LOADED)
        self.add(Figure("PATCH one attribute of a random entity", "requests/s", mine.rate, ">=", 3500, top.rate))

    def creates(self) -> WrkRun:
        mine, top = self.pair("creates", "creates", f"{self.run_tag}c")
        self.add(Figure("creates (POST /entities)", "requests/s", mine.rate, ">=", 3500, top.rate))
        self.stored += mine.requests
        return mine

    def rate(self) -> None:
        peak = self.results.runs.get("creates") or self.creates()
        half = max(peak.rate / 2, 1.0)
        mine = self.wrk("creates at half the peak rate", self.base, "rate", f"{self.run_tag}r", f"{half:.1f}",
                        CONNECTIONS)
        top = self.wrk("creates at half the peak rate (ceiling)", self.ceiling_base, "rate", f"{self.run_tag}r",
                       f"{half:.1f}", CONNECTIONS)
        self.add(Figure("p99 of creates at half the peak rate", "ms", mine.p99_ms, "<=", 20, top.p99_ms,
                        f"{mine.rate:,.0f}/s sent for {half:,.0f}/s asked"))
        self.stored += mine.requests

    def batch(self) -> None:
        """Over BATCH_CONNECTIONS: a batch is a second's work or so, and 32 of them in flight would be 32,000
        entities queued, more than a run stores, most of it left to the server after wrk stops."""
        mine, top = self.pair("batch upsert", "batch", f"{self.run_tag}b", BATCH, connections=BATCH_CONNECTIONS)
        self.add(Figure("batch upsert, 1,000-entity batches", "entities/s", mine.rate * BATCH, ">=", 12_000,
                        top.rate * BATCH, f"{BATCH_CONNECTIONS} connections"))
        self.stored += mine.requests * BATCH

    def subscription(self) -> None:
        """Creates in a fresh tenant without subscriptions, then in another with one subscription to every
        OffStreetParking (notified to a receiver that answers 204)."""
        plain = self.wrk("creates, tenant without subscription", self.base, "creates", f"{self.run_tag}s0",
                         headers=("NGSILD-Tenant: benchplain",))
        subscription = {"type": "Subscription", "entities": [{"type": "OffStreetParking"}],
                        "notification": {"endpoint": {"uri": f"http://127.0.0.1:{RECEIVER_PORT}/notify"}}}
        _request("POST", f"{self.base}/ngsi-ld/v1/subscriptions", subscription, {"NGSILD-Tenant": "benchsubscribed"})
        watched = self.wrk("creates, tenant with one subscription", self.base, "creates", f"{self.run_tag}s1",
                           headers=("NGSILD-Tenant: benchsubscribed",))
        slower = (1 - watched.rate / plain.rate) * 100  # below 0: faster, within the noise
        self.add(Figure("creates with one subscription: slower than without", "%", slower, "<=", 15, None,
                        f"{watched.rate:,.0f}/s against {plain.rate:,.0f}/s"))

    def rss(self) -> None:
        stored = self.stored_for_rss
        rate = load(self.base, LOADED, stored)
        print(f"  entities {LOADED:,} to {stored:,} upserted at {rate:,.0f}/s")
        self.wrk(f"GET by id, {stored:,} (warm-up for RSS)", self.base, "get", stored)
        mine, workers = worker_rss_mb(self.broker_pid)
        top, _ = worker_rss_mb(self.ceiling_pid)
        self.add(Figure(f"RSS per worker, {stored:,} entities stored", "MB", mine, "<=", 150, top,
                        f"{workers} workers"))

    def notifications(self) -> None:
        from bench.notifications import bench_delivery

        for workers in (1, 2):
            with store_url(self.store) as url:
                figures = asyncio.run(bench_delivery(4000, 8, 1, workers, url))
            print(f"  notifications, {workers} worker(s): {figures}")
            self.add(Figure(f"notifications end to end, {workers} worker(s)", "changes/s",
                            figures["changes notified (per s)"], ">=", 3000))
            self.add(Figure(f"update -> receipt p99, {workers} worker(s)", "ms",
                            figures["update -> receipt latency p99 (ms)"], "<=", 100))


def measure(selected: list[str], duration: float, workers: int, store: str,
            stored_for_rss: int = STORED_FOR_RSS) -> Results:
    """Runs the selected scenarios (in the order of SCENARIOS) and returns their figures."""
    served = [name for name in SCENARIOS if name in selected and name != "notifications"]
    results = Results()
    if served:
        # The receiver of the subscription scenario's notifications lives as long as the broker.
        with ceiling(1, RECEIVER_PORT), broker(workers, store) as broker_pid, ceiling(workers) as ceiling_pid:
            harness = Harness(duration, workers, broker_pid, ceiling_pid, store, stored_for_rss)
            rate = load(harness.base, 0, LOADED)
            print(f"{LOADED:,} entities loaded at {rate:,.0f}/s (batch upserts of {BATCH:,})", flush=True)
            for name in served:
                step: Callable[[], object] = getattr(harness, name)
                step()
            results = harness.results
    if "notifications" in selected:
        harness = Harness(duration, workers, 0, 0, store)
        harness.notifications()
        results.figures += harness.results.figures
    return results


def print_table(results: Results) -> None:
    for figure in results.figures:
        ceiling_text = f"ceiling {figure.ceiling:,.1f}" if figure.ceiling is not None else ""
        print(f"{figure.name:<58} {figure.measured:>10,.1f} {figure.unit:<11} target {figure.comparison} "
              f"{figure.bound:<7,} {'met' if figure.met else 'MISSED':<7}{ceiling_text}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS), metavar="SCENARIO",
                        help=f"the scenarios to run: {', '.join(SCENARIOS)}")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--store", choices=STORES, default="sqlite")
    parser.add_argument("--rss-entities", type=int, default=STORED_FOR_RSS,
                        help=f"entities stored when `rss` measures (default {STORED_FOR_RSS:,})")
    args = parser.parse_args(argv)
    results = measure(args.only, args.duration, args.workers, args.store, args.rss_entities)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results.to_json(), indent=1))


if __name__ == "__main__":
    main()
