"""The benchmark harness (bench/http.py, bench/report.py): reading wrk's JSON line and writing the generated part
of docs/benchmarks.md, on canned figures; and the Lua scripts of bench/wrk/ run by wrk against a broker."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bench import http as harness
from bench import report
from bench.entities import parking
from tests import services
from tests.conftest import ROOT, BrokerProcess

CANNED = ("Running 10s test @ http://127.0.0.1:18980\n  2 threads and 32 connections\n"
          'WRK_JSON {"requests":6670,"duration_us":10002000,"bytes":1234,"non2xx":3,"connect_errors":0,'
          '"read_errors":1,"write_errors":0,"timeouts":2,"latency_us":{"mean":4790.5,"p50":4100,"p90":8000,'
          '"p99":19500,"max":40210}}\n')


def test_the_json_line_of_wrk_is_read_into_rates_and_milliseconds() -> None:
    run = harness.parse_wrk(CANNED, cpu_s=2.5)
    assert (run.requests, run.non2xx, run.socket_errors) == (6670, 3, 3)
    assert run.duration_s == pytest.approx(10.002)
    assert run.rate == pytest.approx(666.87, abs=0.01)
    assert (run.p50_ms, run.p90_ms, run.p99_ms, run.max_ms) == (4.1, 8.0, 19.5, 40.21)
    assert run.cpu_share == pytest.approx(0.25, abs=0.001)


def test_output_without_the_json_line_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no WRK_JSON line"):
        harness.parse_wrk("Running 10s test\nunable to connect to 127.0.0.1:18980 Connection refused\n")


def _canned_results() -> dict[str, object]:
    run = harness.parse_wrk(CANNED, cpu_s=2.5)
    results = harness.Results(
        figures=[harness.Figure("creates (POST /entities)", "requests/s", run.rate, ">=", 3500, 24014.2),
                 harness.Figure("p99 of creates at half the peak rate", "ms", run.p99_ms, "<=", 20, 1.2,
                                "333/s sent"),
                 harness.Figure("creates with one subscription: slower than without", "%", 20.0, "<=", 15)],
        runs={"creates": run})
    return json.loads(json.dumps(results.to_json()))


def test_the_table_gives_target_measured_ceiling_ratio_and_verdict() -> None:
    rows = report.figures_table(_canned_results()["figures"])  # type: ignore[arg-type]
    assert rows[2] == ("| creates (POST /entities) | >= 3,500 requests/s | **667** | 24,014 | 3% | missed |")
    assert rows[3] == ("| p99 of creates at half the peak rate | <= 20.0 ms | **19.5** (333/s sent) | 1.2 "
                       "| 16.2x | met |")
    assert rows[4].endswith("| **20.0** | - | - | missed |")


def test_the_generated_part_replaces_the_old_one_and_keeps_the_history(tmp_path: Path) -> None:
    host = {"date": "2026-12-01 12:00 UTC", "cores": "2", "cpu": "Some CPU", "system": "Linux 6", "python": "3.11.2",
            "wrk": "wrk debian/4.1.0-3+b2 [epoll]"}
    queries = {"sizes": [10_000, 30_000, 100_000], "median_ms": {"type + q (limit 20)": [1.0, 1.5, 2.0]}}
    steps = [report.Step(["/usr/bin/python3", "-m", "bench.http", "--json", "http.json"], "", 150.0),
             report.Step(["/usr/bin/python3", "-m", "bench.validation"], "creates/s  10.0\n", 20.0)]
    generated = report.render(_canned_results(), queries, steps, host, 420.0, "SQLite")  # type: ignore[arg-type]
    assert generated.startswith(report.START) and generated.endswith(report.END)
    assert "2 cores (Some CPU)" in generated and "Python 3.11.2" in generated and "took 7.0 min" in generated
    assert "- `python -m bench.http --json http.json` (150 s)" in generated
    assert "median 25% of one core" in generated and "a median 375 us of CPU per request" in generated
    assert "| type + q (limit 20) | 1.00 | 1.50 | 2.00 | 2.00 |" in generated
    assert "](query-latency.png)" in generated and "creates/s  10.0" in generated

    history = "# Benchmarks\n\nIntro.\n\n## Entities\n\nold figures\n"
    first = report.replace_generated(history, generated)
    assert first.startswith("# Benchmarks\n\nIntro.\n\n" + report.START)
    assert first.endswith(report.END + "\n\n## Entities\n\nold figures\n")
    again = report.replace_generated(first, generated.replace("Some CPU", "Other CPU"))
    assert again == first.replace("Some CPU", "Other CPU")


@pytest.fixture(scope="module")
def wrk() -> str:
    """wrk, unpacked by `make test` (`python -m tests.services mosquitto wrk`) when the machine has none."""
    found = services.wrk_executable()
    assert found is not None, "wrk is missing: run `python -m tests.services wrk`"
    return found


# The run tags keep the new ids of the three creating scripts apart.
SECONDS = 2
"""Long enough for a few writes of each script on a loaded machine, where the test MongoDB server may take
hundreds of milliseconds for one while the others write."""
SCRIPT_ARGUMENTS = {"creates": ("checkc",), "rate": ("checkr", 50, 1), "patch": (3,), "get": (3,), "query": (),
                    "batch": ("checkb", 5)}


def test_every_lua_script_runs_in_wrk_against_the_broker(wrk: str, broker: BrokerProcess) -> None:
    """Each script of bench/wrk/ for 2 s over 1 connection, in a tenant of its own: answers without error, and
    the figures of its JSON line."""
    tenant = "wrkcheck"
    assert sorted(path.stem for path in (ROOT / "bench" / "wrk").glob("*.lua")) == sorted(
        [*SCRIPT_ARGUMENTS, "common"])
    response = httpx.post(f"{broker.url}/ngsi-ld/v1/entityOperations/upsert", json=[parking(n) for n in range(3)],
                          headers={"NGSILD-Tenant": tenant}, timeout=10)
    assert response.status_code in (201, 204), response.text

    def run(script: str) -> harness.WrkRun:
        return harness.run_wrk(broker.url, script, SECONDS, *SCRIPT_ARGUMENTS[script], connections=1,
                               headers=(f"NGSILD-Tenant: {tenant}",))

    with ThreadPoolExecutor(len(SCRIPT_ARGUMENTS)) as pool:
        runs = dict(zip(SCRIPT_ARGUMENTS, pool.map(run, SCRIPT_ARGUMENTS), strict=True))
    for script, measured in runs.items():
        assert measured.requests > 0 and measured.non2xx == 0 and measured.socket_errors == 0, (script, measured)
        assert 0 < measured.p50_ms <= measured.p99_ms <= measured.max_ms, (script, measured)
    assert runs["rate"].requests <= 2 * SECONDS * 50 + 5  # at 50/s, not as fast as it can
    created = httpx.get(f"{broker.url}/ngsi-ld/v1/entities", params={"type": "OffStreetParking", "count": "true",
                                                                     "limit": "1"},
                        headers={"NGSILD-Tenant": tenant}, timeout=10)
    counted = 3 + runs["creates"].requests + runs["rate"].requests + 5 * runs["batch"].requests
    # A request still in flight when wrk stops may be stored without being counted: one per connection.
    assert counted <= int(created.headers["NGSILD-Results-Count"]) <= counted + 1 + 1 + 5


def test_the_log_benchmark_times_the_statements_of_the_creates() -> None:
    """`python -m bench.wal --statements`: frames and rate per group size, then the statements that took most."""
    shown = subprocess.run([sys.executable, "-m", "bench.wal", "--entities", "40", "--groups", "1", "8",
                            "--statements"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = [line.split("|")[1:-1] for line in shown.splitlines()[2:]]
    groups = [row for row in rows if not row[0].startswith("   ")]
    assert [row[0].strip() for row in groups] == ["1", "8"]
    assert all(float(row[1]) > 0 and float(row[2].replace(",", "")) > 0 for row in groups)
    assert float(groups[0][1]) > float(groups[1][1])  # a group's commit shares the pages its entities dirty
    statements = {row[0].strip(): float(row[1].split()[0]) for row in rows if row[0].startswith("   ")}
    assert statements["(many) INSERT OR IGNORE INTO"] > 0 and statements["COMMIT"] > 0
