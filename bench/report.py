"""The report: the Markdown table (stdout, bench/results/latest.md) and the raw JSON."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.imports import DEV_ONLY_OPTIONAL, ImportResult
from bench.load import Row
from bench.paths import RESULTS

LOADAVG = " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_line(command: str) -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"Machine: nproc={nproc} ({cpu}), Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}; "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load average at start {LOADAVG}. "
        f"Command: `{command}`"
    )


def render(
    command: str,
    rows: list[Row],
    imports: ImportResult | None,
    loops: tuple[str, str, str],
    args: Any,
) -> str:
    out = [
        "# OneRouter benchmark",
        "",
        machine_line(command),
        "",
        f"Gateway: uvicorn (loop {loops[0]}, httptools), one process; AWS (moto's tables and "
        "an SQS stand-in for the usage events) in a process of its own; fake "
        f"provider: uvicorn (loop {loops[1]}, httptools) in its own process; load generator: "
        f"httpx.AsyncClient (loop {loops[2]}), HTTP/1.1 keep-alive. "
        f"Requests per cell: {args.requests_c1} at c=1, {args.requests} at c=16/64, after "
        f"{args.warmup} warm-up requests per target and mode (auth cache warm). "
        "`stream TTFB` = time to the first `data:` line (Anthropic streams too: their "
        "`event:` lines are skipped). Added = gateway - direct at the same percentile. "
        "`anthropic` rows (c=1 only): direct = an Anthropic Messages request straight to the "
        "fake Anthropic provider; gateway = the usual OpenAI-format request for a model "
        "whose only endpoint speaks `protocol: anthropic`, so added includes translating "
        "the request and the response (or stream); their fake CPU is the Anthropic fake's.",
        "",
        "| mode | concurrency | direct p50 ms | gateway p50 ms | added p50 ms "
        "| direct p99 ms | gateway p99 ms | added p99 ms | gateway req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        d50, g50 = row.direct.pct_ms(50), row.gateway.pct_ms(50)
        d99, g99 = row.direct.pct_ms(99), row.gateway.pct_ms(99)
        note = " (capped)" if row.gateway.truncated or row.direct.truncated else ""
        out.append(
            f"| {row.mode} | {row.concurrency} | {d50:.3f} | {g50:.3f} | {g50 - d50:.3f} "
            f"| {d99:.3f} | {g99:.3f} | {g99 - d99:.3f} | {row.gateway.rps:.0f}{note} |"
        )
    out += [
        "",
        "CPU time per request (ms, from /proc; robust to other load on the machine, unlike "
        "latency): the gateway's own cost, and what the fake and the load generator spend "
        "on a direct vs a gateway request.",
        "",
        "| mode | concurrency | gateway CPU | fake CPU direct / via gateway "
        "| load generator CPU direct / via gateway |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        d, g = row.direct.cpu_ms, row.gateway.cpu_ms
        out.append(
            f"| {row.mode} | {row.concurrency} | {g.get('gateway', 0):.2f} "
            f"| {d.get('fake', 0):.2f} / {g.get('fake', 0):.2f} "
            f"| {d.get('load', 0):.2f} / {g.get('load', 0):.2f} |"
        )
    errors = sum(r.direct.errors + r.gateway.errors for r in rows)
    if errors:
        out += ["", f"**{errors} requests failed** (see stderr); they are not in the numbers."]
    if imports is not None:
        runs = ", ".join(f"{ms:.0f}" for ms in imports.all_ms)
        out += [
            "",
            f'Cold start: `python -X importtime -c "import app"` in functions/completions '
            f"(imports and builds the app), bytecode compiled beforehand as in a built "
            f"package: **{imports.median_ms:.0f} ms** median of {imports.runs} "
            f"(runs: {runs} ms; whole process incl. interpreter start and -X importtime's "
            f"own overhead: {imports.median_wall_ms:.0f} ms). Without a bytecode cache for "
            f"our own sources"
            + (" (PYTHONDONTWRITEBYTECODE=1 here)" if imports.dont_write_bytecode else "")
            + f": {imports.as_is_ms:.0f} ms (one run). With the dev-only optional packages "
            f"this venv has but layers/deps does not ({', '.join(DEV_ONLY_OPTIONAL)}) made "
            f"unimportable, as on Lambda: {imports.layer_like_ms:.0f} ms median.",
            "",
            "Largest top-level packages by cumulative import time (inclusive of what they "
            "import; `self` = their own modules only; medians; `via` = the module that "
            "imports it):",
            "",
        ]
        out += [
            f"- `{name}`: {cum:.1f} ms cumulative, {own:.1f} ms self, via `{via}`"
            for name, cum, own, via in imports.top
        ]
    return "\n".join(out) + "\n"


def write_results(command: str, report: str, rows: list[Row], imports: ImportResult | None) -> None:
    """bench/results/latest.md (the report) and latest.json (the raw numbers)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(report, encoding="utf-8")
    raw = {
        "command": command,
        "rows": [
            {
                "mode": r.mode,
                "concurrency": r.concurrency,
                **{
                    f"{name}_{key}": value
                    for name, cell in (("direct", r.direct), ("gateway", r.gateway))
                    for key, value in (
                        ("n", len(cell.latencies_ns)),
                        ("p50_ms", cell.pct_ms(50)),
                        ("p90_ms", cell.pct_ms(90)),
                        ("p99_ms", cell.pct_ms(99)),
                        ("max_ms", max(cell.latencies_ns, default=0) / 1e6),
                        ("rps", cell.rps),
                        ("errors", cell.errors),
                        ("cpu_ms_per_request", cell.cpu_ms),
                    )
                },
            }
            for r in rows
        ],
        "imports": asdict(imports) if imports else None,
    }
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
