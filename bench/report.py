"""`make bench`: every benchmark in one run, and the generated part of docs/benchmarks.md rewritten.

    python -m bench.report [--duration S] [--rss-entities N] [--store sqlite|mongodb] [--doc FILE]

Runs bench.http (the HTTP figures of the write-path issue, beside the ceiling, and notifications end to end
with 1 and 2 workers), bench.queries at 10k, 30k and 100k entities, bench.notifications and bench.validation;
then replaces what lies between the markers below in the doc (or puts it above the first `## ` section) with
the table of figures, the machine, the commands, and the plot docs/query-latency.png of query latency
against entity count. The hand-written history below the markers is kept.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.entities import ROOT

START = "<!-- make bench: start -->"
END = "<!-- make bench: end -->"
DOC = ROOT / "docs" / "benchmarks.md"
PLOT_NAME = "query-latency.png"
QUERY_SIZES = (10_000, 30_000, 100_000)
QUERY_RUNS = 20


@dataclass(frozen=True)
class Step:
    """One benchmark command of the run, what it printed and how long it took."""
    command: list[str]
    output: str
    seconds: float

    @property
    def shown(self) -> str:
        return " ".join(["python", *self.command[1:]]).replace(str(ROOT) + "/", "")


def run_step(arguments: list[str]) -> Step:
    """Runs `python ARGUMENTS` from the project's root, echoing its output as it comes."""
    command = [sys.executable, *arguments]
    print(f"$ {' '.join(['python', *arguments])}", flush=True)
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if process.wait() != 0:
        raise SystemExit(f"make bench: `{' '.join(arguments)}` failed ({process.returncode})")
    return Step(command, "".join(lines), time.perf_counter() - began)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    from tests.services import wrk_executable

    wrk = wrk_executable()
    version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split(" Copyright")[0] if wrk else "-"
    return {"cores": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "wrk": version,
            "system": f"{platform.system()} {platform.release()}"}


def _number(value: float) -> str:
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def figures_table(figures: list[dict[str, Any]]) -> list[str]:
    """The markdown table of bench.http's figures (its --json "figures")."""
    lines = ["| figure | target | measured | ceiling | ratio to the ceiling | |", "|---|---|---|---|---|---|"]
    for figure in figures:
        measured, ceiling, bound = figure["measured"], figure.get("ceiling"), figure["bound"]
        met = measured >= bound if figure["comparison"] == ">=" else measured <= bound
        note = f" ({figure['note']})" if figure.get("note") else ""
        lines.append(
            f"| {figure['name']} | {figure['comparison']} {_number(bound)} {figure['unit']} "
            f"| **{_number(measured)}**{note} | {_number(ceiling) if ceiling is not None else '-'} "
            f"| {_ratio(measured, ceiling, figure['comparison'])} | {'met' if met else 'missed'} |")
    return lines


def _ratio(measured: float, ceiling: float | None, comparison: str) -> str:
    """A throughput as a share of the ceiling's; a latency or a memory size as a multiple of it."""
    if not ceiling:
        return "-"
    return f"{measured / ceiling:.0%}" if comparison == ">=" else f"{measured / ceiling:.1f}x"


def wrk_cpu_text(runs: dict[str, dict[str, Any]], cores: int) -> str:
    """How much CPU wrk itself took during the runs."""
    shares = sorted(run["cpu_share"] for run in runs.values())
    if not shares:
        return "no wrk run"
    per_request = sorted(run["cpu_s"] / run["requests"] * 1e6 for run in runs.values() if run["requests"])
    median_cost = per_request[len(per_request) // 2] if per_request else 0.0
    return (f"wrk's own CPU time (from wait4): median {shares[len(shares) // 2]:.0%} of one core over its runs, "
            f"at most {shares[-1]:.0%} (against the ceiling), of the {cores} cores it shares with the server; "
            f"a median {median_cost:.0f} us of CPU per request")


def query_table(queries: dict[str, Any]) -> list[str]:
    sizes = queries["sizes"]
    lines = ["| median ms | " + " | ".join(f"{size:,}" for size in sizes) + " | ratio last/first |",
             "|---|" + "---|" * (len(sizes) + 1)]
    for name, medians in queries["median_ms"].items():
        cells = " | ".join(f"{median:.2f}" for median in medians)
        lines.append(f"| {name} | {cells} | {medians[-1] / medians[0]:.2f} |")
    return lines


def plot_queries(queries: dict[str, Any], path: Path) -> None:
    """Median latency of each query kind against the number of entities stored."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(10, 5), dpi=100)
    for name, medians in queries["median_ms"].items():
        axes.plot(queries["sizes"], medians, marker="o", label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(queries["sizes"], [f"{size // 1000}k" for size in queries["sizes"]])
    axes.minorticks_off()
    axes.set_xlabel("entities stored")
    axes.set_ylabel("median latency (ms, store.query)")
    axes.set_title("bench.queries: query latency against entity count")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def render(http: dict[str, Any], queries: dict[str, Any] | None, steps: list[Step], host: dict[str, str],
           total_seconds: float, store: str) -> str:
    """The generated part of docs/benchmarks.md, markers included."""
    lines = [START, "## Latest `make bench` (generated by `python -m bench.report`: edit nothing up to the end "
                    "marker)", "",
             f"Measured {host['date']} on {host['cores']} cores ({host['cpu']}), {host['system']}, Python "
             f"{host['python']}, store: {store}; `make bench` took {total_seconds / 60:.1f} min. Every server runs "
             "on the same cores as the load generator.", "",
             *figures_table(http["figures"]), "",
             "The ceiling is bench/ceiling.py: a Starlette app that answers every GET with a small JSON body and "
             "every write, once its body is read, with 204, served like `scifi serve` (uvicorn, same worker count, "
             "uvloop, httptools, no access log) and measured with the same wrk script and settings in the same "
             "run; the ratio says how much of the stack's own throughput the broker keeps (for a latency or "
             "memory figure, how many times the ceiling's).", "",
             f"Load generator: {host['wrk']} (Debian's package, unpacked into .services/ by `python -m "
             "tests.services wrk`), with the Lua scripts of bench/wrk/ (a JSON line from done(), read by "
             "bench/http.py): 2 threads, 32 connections. Why wrk: it is C on epoll, with no interpreter on the "
             "request path (LuaJIT builds each request), so it needs far less CPU per request than the server; "
             f"{wrk_cpu_text(http['runs'], int(host['cores']))}.", "",
             "Commands (`make bench` runs them all through `python -m bench.report`; each runs alone too, and "
             "`python -m bench.http --only creates` runs one scenario):", ""]
    lines += [f"- `{step.shown}` ({step.seconds:.0f} s)" for step in steps]
    if queries is not None:
        lines += ["", "### Query latency against entity count (bench.queries, store.query in process)", "",
                  f"![median query latency against entity count]({PLOT_NAME})", "", *query_table(queries)]
    others = [step for step in steps if "bench.http" not in step.command and "bench.queries" not in step.command]
    if others:
        lines += ["", "### The other benchmarks' output", ""]
    for step in others:
        lines += [f"<details><summary><code>{step.shown}</code></summary>", "", "```text", step.output.rstrip(),
                  "```", "", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n" + END


def replace_generated(document: str, generated: str) -> str:
    """The document with its generated part replaced, or put before its first `## ` section."""
    if START in document and END in document:
        before, rest = document.split(START, 1)
        return before + generated + rest.split(END, 1)[1]
    head, marker, tail = document.partition("\n## ")
    return f"{head}\n{generated}\n{marker}{tail}" if marker else f"{document.rstrip()}\n\n{generated}\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--rss-entities", type=int, default=100_000, help="bench.http's --rss-entities")
    parser.add_argument("--store", choices=("sqlite", "mongodb"), default="sqlite")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    host = machine()
    with tempfile.TemporaryDirectory() as directory:
        http_json, queries_json = Path(directory) / "http.json", Path(directory) / "queries.json"
        steps = [
            run_step(["-m", "bench.http", "--duration", f"{args.duration:g}", "--store", args.store,
                      "--rss-entities", str(args.rss_entities), "--json", str(http_json)]),
            run_step(["-m", "bench.queries", "--sizes", *map(str, QUERY_SIZES), "--runs", str(QUERY_RUNS),
                      "--store", args.store, "--json", str(queries_json)]),
            run_step(["-m", "bench.notifications", "--updates", "2000", "--store", args.store]),
            run_step(["-m", "bench.validation", "--requests", "1000"]),
        ]
        for step in steps:
            step.command[:] = [arg if not arg.startswith(directory) else Path(arg).name for arg in step.command]
        http, queries = json.loads(http_json.read_text()), json.loads(queries_json.read_text())
    plot_queries(queries, args.doc.parent / PLOT_NAME)
    label = "SQLite (embedded)" if args.store == "sqlite" else "MongoDB"
    generated = render(http, queries, steps, host, time.perf_counter() - began, label)
    args.doc.write_text(replace_generated(args.doc.read_text(), generated))
    print(f"make bench: {args.doc.relative_to(ROOT)} and {PLOT_NAME} rewritten "
          f"in {(time.perf_counter() - began) / 60:.1f} min")


if __name__ == "__main__":
    main()
