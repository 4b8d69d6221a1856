"""What the benchmarks share: their command-line arguments and the timing."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def arguments(description: str | None, *, repeats: int, scales: str | None = None,
              workers: str | None = None, scale: bool = False,
              flags: dict[str, str] | None = None) -> argparse.Namespace:
    """--data (../shared/data), --repeats and, for scaled benchmarks, --scales 1,10,...
    (or one --scale N); for the web, --workers 1,2,... (serving processes)."""
    parser = argparse.ArgumentParser(description=description)
    if scales is not None:
        parser.add_argument("--scales", default=scales)
    if scale:
        parser.add_argument("--scale", type=int, default=0)
    if workers is not None:
        parser.add_argument("--workers", default=workers)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    for flag, help_text in (flags or {}).items():
        parser.add_argument(flag, action="store_true", help=help_text)
    args = parser.parse_args()
    if scales is not None:
        args.scales = [int(s) for s in args.scales.split(",")]
    if workers is not None:
        args.workers = [int(w) for w in args.workers.split(",")]
    return args


def median_ms(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` runs in ms, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result
