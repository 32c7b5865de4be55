"""The load generator: requests to the direct and gateway targets, per-cell latency and CPU."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.processes import cpu_seconds

PROMPT = "Say hello to the benchmark in five short words."
CONCURRENCIES = (1, 16, 64)
MODES = ("non-stream", "stream TTFB")
# Workers per httpx.AsyncClient: 1, so no request ever waits in an httpx pool. Shared pools
# starve some waiting requests for seconds while others run (httpcore hands a released
# connection to a queued request, but a newer request can take it first, over and over:
# encode/httpcore#822, #1110), and scan every connection for every request they assign.
# With 8 workers on a pool, p99 at c=64 measured the load generator, not the servers.
WORKERS_PER_CLIENT = 1


ANTHROPIC_VERSION = "2023-06-01"


@dataclass
class Target:
    name: str  # "direct", "gateway", "anthropic-direct", ...: one connection pool each
    url: str
    headers: dict[str, str]
    model: str
    # The request body's format: "openai" (chat) | "anthropic" (Messages) | "responses"
    protocol: str = "openai"

    def body(self, stream: bool) -> bytes:
        payload: dict[str, Any]
        if self.protocol == "anthropic":  # Messages API: POST /v1/messages
            payload = {
                "model": self.model,
                "max_tokens": 32,
                "messages": [{"role": "user", "content": PROMPT}],
            }
        elif self.protocol == "responses":  # OpenAI Responses API: POST /v1/responses
            payload = {"model": self.model, "input": PROMPT, "max_output_tokens": 32}
        else:
            payload = {
                "model": self.model,
                "messages": [{"role": "user", "content": PROMPT}],
                "max_tokens": 32,
            }
        if stream:
            payload["stream"] = True
        return json.dumps(payload).encode()


@dataclass
class Cell:
    latencies_ns: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    errors: int = 0
    truncated: bool = False  # stopped by the per-cell time cap
    cpu_ms: dict[str, float] = field(default_factory=dict)  # process -> CPU ms per request

    @property
    def rps(self) -> float:
        return len(self.latencies_ns) / self.wall_s if self.wall_s else 0.0

    def pct_ms(self, p: float) -> float:
        return percentile(self.latencies_ns, p) / 1e6


def percentile(values: Sequence[int], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return float(ordered[int(rank) - 1])


async def one_request(client: httpx.AsyncClient, target: Target, body: bytes, stream: bool) -> int:
    """Nanoseconds to the whole response (non-stream) or to the first `data:` line (stream).

    Anthropic streams put an `event:` line before each `data:` line; TTFB is still taken at
    the first `data:` line, as for OpenAI streams (which have no `event:` lines).
    """
    start = time.perf_counter_ns()
    if not stream:
        response = await client.post(target.url, content=body, headers=target.headers)
        end = time.perf_counter_ns()
        if response.status_code != 200:
            raise RuntimeError(f"{target.name}: HTTP {response.status_code}: {response.text[:200]}")
        return end - start
    first = 0
    async with client.stream("POST", target.url, content=body, headers=target.headers) as resp:
        if resp.status_code != 200:
            await resp.aread()
            raise RuntimeError(f"{target.name}: HTTP {resp.status_code}: {resp.text[:200]}")
        seen = b""
        async for chunk in resp.aiter_raw():
            if not first:
                seen += chunk
                if seen.startswith(b"data:") or b"\ndata:" in seen:
                    first = time.perf_counter_ns()
        # Drained to the end, so the connection goes back to the pool.
        if not first or not seen:
            raise RuntimeError(f"{target.name}: stream had no data line")
    return first - start


async def run_cell(
    clients: Sequence[httpx.AsyncClient],
    target: Target,
    stream: bool,
    concurrency: int,
    requests: int,
    time_cap: float,
    pids: dict[str, int | None] | None = None,
    label: str = "",
) -> Cell:
    body = target.body(stream)
    cell = Cell()
    remaining = requests
    deadline = time.perf_counter() + time_cap
    first_error: list[BaseException] = []

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            if time.perf_counter() > deadline:
                cell.truncated = True
                return
            remaining -= 1
            try:
                cell.latencies_ns.append(await one_request(client, target, body, stream))
            except Exception as exc:
                cell.errors += 1
                if not first_error:
                    first_error.append(exc)
                if cell.errors > 20:
                    raise

    pids = pids or {}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.perf_counter()
    await asyncio.gather(
        *(worker(clients[i // WORKERS_PER_CLIENT % len(clients)]) for i in range(concurrency))
    )
    cell.wall_s = time.perf_counter() - start
    done = max(1, len(cell.latencies_ns))
    cell.cpu_ms = {
        name: (cpu_seconds(pid) - cpu_before[name]) * 1000 / done for name, pid in pids.items()
    }
    if first_error:
        where = f"{label} {target.name} c={concurrency} {'stream' if stream else 'non-stream'}"
        print(f"  ! {where}: {cell.errors} errors, first: {first_error[0]!r}", file=sys.stderr)
    return cell


@dataclass
class Row:
    mode: str  # e.g. "non-stream", "anthropic stream TTFB"
    concurrency: int
    direct: Cell
    gateway: Cell


@dataclass
class Suite:
    """A direct/gateway pair measured in both modes at each of `concurrencies`."""

    prefix: str  # row label prefix: "" (OpenAI) or "anthropic "
    direct: Target
    gateway: Target
    concurrencies: Sequence[int]
    pids: dict[str, int | None]  # CPU accounting: "gateway", "fake" (this suite's), "load"


async def measure(suites: Sequence[Suite], args: argparse.Namespace) -> list[Row]:
    limits = httpx.Limits(
        max_connections=WORKERS_PER_CLIENT,
        max_keepalive_connections=WORKERS_PER_CLIENT,
        # Below uvicorn's 5 s keep-alive timeout: we drop idle connections before the server
        # does, so no request is ever sent on a connection the server is closing.
        keepalive_expiry=4.0,
    )
    timeout = httpx.Timeout(30.0)
    rows: list[Row] = []
    tls = ssl.create_default_context()  # unused on plain http; loaded once, not per client
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, list[httpx.AsyncClient]] = {}
        for suite in suites:
            per_target = -(-max(suite.concurrencies) // WORKERS_PER_CLIENT)
            for name in (suite.direct.name, suite.gateway.name):
                # Suites may share a target (the direct chat call): its largest pool serves all.
                if len(clients.get(name, ())) >= per_target:
                    continue
                clients[name] = [
                    await stack.enter_async_context(
                        httpx.AsyncClient(
                            http1=True, http2=False, limits=limits, timeout=timeout, verify=tls
                        )
                    )
                    for _ in range(per_target)
                ]
        for suite in suites:
            rows += await measure_suite(suite, clients, args)
    return rows


async def measure_suite(
    suite: Suite, clients: dict[str, list[httpx.AsyncClient]], args: argparse.Namespace
) -> list[Row]:
    rows: list[Row] = []
    top = max(suite.concurrencies)
    what = suite.prefix.strip() or "openai"
    print(f"warm-up ({what}): {args.warmup} requests per target and mode at concurrency {top}")
    for stream in (False, True):
        for target in (suite.direct, suite.gateway):
            await run_cell(
                clients[target.name], target, stream, top, args.warmup, 60, label="warm-up"
            )
    pids = suite.pids
    for concurrency in suite.concurrencies:
        n = args.requests_c1 if concurrency == 1 else args.requests
        for mode, stream in zip(MODES, (False, True), strict=True):
            cells: dict[str, Cell] = {}
            label = suite.prefix + mode
            for target in (suite.direct, suite.gateway):
                pool = clients[target.name]
                # Re-warm at this concurrency: connections idle for 4 s were dropped,
                # and connecting is not what we measure.
                await run_cell(
                    pool,
                    target,
                    stream,
                    concurrency,
                    2 * concurrency + 20,
                    10,
                    label="re-warm",
                )
                cell = await run_cell(
                    pool, target, stream, concurrency, n, args.cell_cap, pids, "measured"
                )
                cells[target.name] = cell
                cpu = " ".join(f"{k}={v:.2f}" for k, v in cell.cpu_ms.items())
                print(
                    f"  {label:<21} c={concurrency:<3} {target.name:<17} "
                    f"n={len(cell.latencies_ns):<5} p50={cell.pct_ms(50):7.3f} ms "
                    f"p99={cell.pct_ms(99):7.3f} ms {cell.rps:6.0f} req/s  "
                    f"CPU ms/req: {cpu}" + ("  (time cap hit)" if cell.truncated else ""),
                    flush=True,
                )
            rows.append(
                Row(label, concurrency, cells[suite.direct.name], cells[suite.gateway.name])
            )
    return rows
