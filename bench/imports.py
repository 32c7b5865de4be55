"""Cold start: the median cost of `import app` in the streaming Lambda, via -X importtime."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.paths import COMPLETIONS_DIR, ROOT

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
