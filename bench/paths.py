"""Where the benchmark finds the repository, the streaming Lambda and its results directory."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
COMPLETIONS_DIR = ROOT / "functions" / "completions"
