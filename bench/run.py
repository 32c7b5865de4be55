"""The gateway's added latency over calling the provider directly, and the cold-start import cost.

Run from the repository root::

    .venv/bin/python -m bench.run            # full run (~1-2 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick    # smoke run: few requests, numbers are noise

Three processes, all on loopback: the fake OpenAI provider, the gateway (moto server inside it)
and this one, the load generator. The table goes to stdout and to bench/results/latest.md
(JSON beside it). See bench/README.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shlex
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
COMPLETIONS_DIR = ROOT / "functions" / "completions"
PROMPT = "Say hello to the benchmark in five short words."
CONCURRENCIES = (1, 16, 64)
MODES = ("non-stream", "stream TTFB")
# Workers per httpx.AsyncClient: 1, so no request ever waits in an httpx pool. Shared pools
# starve some waiting requests for seconds while others run (httpcore hands a released
# connection to a queued request, but a newer request can take it first, over and over:
# encode/httpcore#822, #1110), and scan every connection for every request they assign.
# With 8 workers on a pool, p99 at c=64 measured the load generator, not the servers.
WORKERS_PER_CLIENT = 1
LOADAVG = " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- child processes ---------------------------------------------------------------------------
class Child:
    """A `python -m <module>` child that announces itself with one JSON line on stdout."""

    def __init__(self, module: str, *args: str) -> None:
        self.module = module
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), str(ROOT / "shared"), env.get("PYTHONPATH")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,  # closing it (or our death) tells the child to exit
            stdout=subprocess.PIPE,
            stderr=None,  # inherited: start-up failures show up on the console
            # Own session: Ctrl-C reaches only us, and we shut the children down in order.
            start_new_session=True,
        )

    def announcement(self, timeout: float) -> dict[str, Any]:
        box: list[bytes] = []
        assert self.proc.stdout is not None
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            code = self.proc.poll()
            raise RuntimeError(f"{self.module} did not start (exit code {code})")
        info: dict[str, Any] = json.loads(box[0])
        return info

    def stop(self) -> None:
        proc = self.proc
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s ({last!r})")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (all its threads); None = this process."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- load generation ---------------------------------------------------------------------------
@dataclass
class Target:
    name: str  # "direct" | "gateway"
    url: str
    headers: dict[str, str]
    model: str

    def body(self, stream: bool) -> bytes:
        payload: dict[str, Any] = {
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
    """Nanoseconds to the whole response (non-stream) or to the first `data:` line (stream)."""
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
    mode: str
    concurrency: int
    direct: Cell
    gateway: Cell


async def measure(
    direct: Target,
    gateway: Target,
    args: argparse.Namespace,
    concurrencies: Sequence[int],
    pids: dict[str, int | None],
) -> list[Row]:
    limits = httpx.Limits(
        max_connections=WORKERS_PER_CLIENT,
        max_keepalive_connections=WORKERS_PER_CLIENT,
        # Below uvicorn's 5 s keep-alive timeout: we drop idle connections before the server
        # does, so no request is ever sent on a connection the server is closing.
        keepalive_expiry=4.0,
    )
    timeout = httpx.Timeout(30.0)
    rows: list[Row] = []
    top = max(concurrencies)
    per_target = -(-top // WORKERS_PER_CLIENT)
    tls = ssl.create_default_context()  # unused on plain http; loaded once, not per client
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, list[httpx.AsyncClient]] = {}
        for name in ("direct", "gateway"):
            clients[name] = [
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        http1=True, http2=False, limits=limits, timeout=timeout, verify=tls
                    )
                )
                for _ in range(per_target)
            ]
        print(f"warm-up: {args.warmup} requests per target and mode at concurrency {top}")
        for stream in (False, True):
            for target in (direct, gateway):
                await run_cell(
                    clients[target.name], target, stream, top, args.warmup, 60, label="warm-up"
                )
        for concurrency in concurrencies:
            n = args.requests_c1 if concurrency == 1 else args.requests
            for mode, stream in zip(MODES, (False, True), strict=True):
                cells: dict[str, Cell] = {}
                for target in (direct, gateway):
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
                        f"  {mode:<11} c={concurrency:<3} {target.name:<7} "
                        f"n={len(cell.latencies_ns):<5} p50={cell.pct_ms(50):7.3f} ms "
                        f"p99={cell.pct_ms(99):7.3f} ms {cell.rps:6.0f} req/s  "
                        f"CPU ms/req: {cpu}" + ("  (time cap hit)" if cell.truncated else ""),
                        flush=True,
                    )
                rows.append(Row(mode, concurrency, cells["direct"], cells["gateway"]))
    return rows


# ---- cold start: import cost -------------------------------------------------------------------
_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")
# Installed here by development tools (aws-sam-cli, ...) but not in layers/deps: boto3,
# botocore and httpx import them when present (CRT transfer, pyOpenSSL, httpx's CLI).
DEV_ONLY_OPTIONAL = ("awscrt", "OpenSSL", "rich")


@dataclass
class Package:
    cumulative_us: int  # its outermost import, which includes its submodules
    self_us: int  # the sum of its own modules' self time
    via: str  # the module whose import pulled it in


@dataclass
class ImportRun:
    total_us: int  # cumulative time of the top-level `app` import
    wall_ms: float  # the whole `python -X importtime -c "import app"` process
    packages: dict[str, Package]  # by top-level package name


def parse_importtime(stderr: str) -> ImportRun:
    rows = [
        (int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4))
        for line in stderr.splitlines()
        if (m := _IMPORTTIME.match(line))
    ]
    if not rows or rows[-1][3] != "app":
        raise RuntimeError("no importtime line for `app` in the output")
    packages: dict[str, Package] = {}
    for i, (own, cum, depth, name) in enumerate(rows):
        top = name.split(".", 1)[0]
        if top == "app":
            continue
        pkg = packages.setdefault(top, Package(0, 0, ""))
        pkg.self_us += own
        if cum > pkg.cumulative_us:
            # A module is printed after its imports: the parent is the next shallower line.
            parent = next((r[3] for r in rows[i + 1 :] if r[2] < depth), "")
            pkg.cumulative_us, pkg.via = cum, parent
    return ImportRun(rows[-1][1], 0.0, packages)


def import_once(pycache: str | None, hide: Sequence[str] = ()) -> ImportRun:
    """One cold `import app`. With `pycache`, bytecode is read from (and written to) that
    directory tree, as in a deployed package whose .pyc files were compiled at build time;
    without, the environment decides (PYTHONDONTWRITEBYTECODE=1 means our own sources are
    compiled again on every start). `hide`: top-level modules made unimportable."""
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # as on Lambda; no call is made at import
    env["PYTHONPATH"] = os.pathsep.join((str(COMPLETIONS_DIR), str(ROOT / "shared")))
    code = "import app"
    if hide:  # None in sys.modules makes `import x` raise ImportError, as if not installed
        code = f"import sys; sys.modules.update(dict.fromkeys({tuple(hide)!r})); {code}"
    start = time.perf_counter_ns()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=COMPLETIONS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    wall_ms = (time.perf_counter_ns() - start) / 1e6
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-15:])
        raise RuntimeError(f"`import app` failed (exit {proc.returncode}):\n{tail}")
    run = parse_importtime(proc.stderr)
    run.wall_ms = wall_ms
    return run


@dataclass
class ImportResult:
    runs: int
    median_ms: float
    all_ms: list[float]
    median_wall_ms: float
    top: list[tuple[str, float, float, str]]  # (package, cumulative ms, self ms, via)
    layer_like_ms: float  # median, DEV_ONLY_OPTIONAL hidden
    as_is_ms: float  # one run with the environment's own bytecode settings
    dont_write_bytecode: bool


def measure_imports(runs: int) -> ImportResult:
    as_is = import_once(None)
    with tempfile.TemporaryDirectory(prefix="onerouter-pycache-") as pycache:
        import_once(pycache)  # compiles everything into the cache; not counted
        results = [import_once(pycache) for _ in range(runs)]
        layer_like = [import_once(pycache, DEV_ONLY_OPTIONAL) for _ in range(runs)]
    names = set().union(*(r.packages for r in results))

    def med(name: str, attr: str) -> float:
        values = [getattr(r.packages[name], attr) for r in results if name in r.packages]
        return float(statistics.median(values)) / 1000

    ranked = sorted(
        (
            (n, med(n, "cumulative_us"), med(n, "self_us"), results[-1].packages[n].via)
            for n in names
            if n in results[-1].packages and n != "onerouter"
        ),
        key=lambda t: -t[1],
    )
    return ImportResult(
        runs=runs,
        median_ms=statistics.median(r.total_us for r in results) / 1000,
        all_ms=[r.total_us / 1000 for r in results],
        median_wall_ms=statistics.median(r.wall_ms for r in results),
        top=ranked[:8],
        layer_like_ms=statistics.median(r.total_us for r in layer_like) / 1000,
        as_is_ms=as_is.total_us / 1000,
        dont_write_bytecode=bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
    )


# ---- report ------------------------------------------------------------------------------------
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
        f"Gateway: uvicorn (loop {loops[0]}, httptools), one process, moto inside it; fake "
        f"provider: uvicorn (loop {loops[1]}, httptools) in its own process; load generator: "
        f"httpx.AsyncClient (loop {loops[2]}), HTTP/1.1 keep-alive. "
        f"Requests per cell: {args.requests_c1} at c=1, {args.requests} at c=16/64, after "
        f"{args.warmup} warm-up requests per target and mode (auth cache warm). "
        "`stream TTFB` = time to the first `data:` line. Added = gateway - direct at the same "
        "percentile.",
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


# ---- main --------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--requests-c1", type=int, default=1500, help="per cell at c=1")
    parser.add_argument("--requests", type=int, default=3000, help="per cell at c=16 and c=64")
    parser.add_argument("--warmup", type=int, default=200, help="per target and mode")
    parser.add_argument("--cell-cap", type=float, default=12.0, help="max seconds per cell")
    parser.add_argument("--import-runs", type=int, default=None, help="5 (--quick: 1)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    parser.add_argument("--quick", action="store_true", help="smoke run (tiny counts)")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests_c1, args.requests, args.warmup = 100, 200, 50
    if args.import_runs is None:
        args.import_runs = 1 if args.quick else 5
    return args


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "-m", "bench.run", *argv])
    signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` cleans up like Ctrl-C does
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    children: list[Child] = []
    started = time.monotonic()
    try:
        fake = Child("bench.fake_server")
        children.append(fake)
        fake_info = fake.announcement(timeout=30)
        wait_ready(f"http://127.0.0.1:{fake_info['port']}/v1/models")
        gateway = Child("bench.gateway_server", fake_info["base_url"], fake_info["api_key"])
        children.append(gateway)
        gw_info = gateway.announcement(timeout=90)
        wait_ready(f"http://127.0.0.1:{gw_info['port']}/health")
        print(
            f"fake provider on :{fake_info['port']} (pid {fake.proc.pid}), gateway on "
            f":{gw_info['port']} (pid {gateway.proc.pid}, loop {gw_info['loop']})",
            flush=True,
        )
        direct = Target(
            "direct",
            f"{fake_info['base_url']}/chat/completions",
            {"authorization": f"Bearer {fake_info['api_key']}", "content-type": "application/json"},
            "gpt-4o-mini",
        )
        through = Target(
            "gateway",
            f"http://127.0.0.1:{gw_info['port']}/v1/chat/completions",
            {"authorization": f"Bearer {gw_info['key']}", "content-type": "application/json"},
            gw_info["model"],
        )
        runner: Any = asyncio.run
        loops = (gw_info["loop"], fake_info["loop"], "asyncio")
        with contextlib.suppress(ImportError):
            import uvloop

            runner, loops = uvloop.run, (*loops[:2], "uvloop")
        pids = {"gateway": gateway.proc.pid, "fake": fake.proc.pid, "load": None}
        rows = runner(measure(direct, through, args, args.concurrency, pids))
    finally:
        for child in reversed(children):
            child.stop()
    print(
        f"load phase done in {time.monotonic() - started:.0f} s; measuring import time", flush=True
    )
    imports = measure_imports(args.import_runs) if args.import_runs > 0 else None
    report = render(command, rows, imports, loops, args)
    print()
    print(report, end="")
    if not args.no_write:
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
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}/latest.md (and latest.json)")
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; child processes stopped", file=sys.stderr)
        sys.exit(130)
