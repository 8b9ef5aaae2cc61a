"""The machine may be shared (other test suites, other load tests): before each measurement the
benchmark waits, for a while, until the CPUs are nearly idle, and records how busy they were, so
figures taken under someone else's load are marked as such rather than passed off."""

from __future__ import annotations

import os
import time
from pathlib import Path

BUSY_LIMIT = 0.25  # share of all CPUs busy (user + system) that still counts as quiet
MAX_WAIT_S = 120.0


def _cpu_times() -> tuple[int, int] | None:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values), idle


def cpu_busy(seconds: float = 2.0) -> float | None:
    """The share of all CPUs busy over the next `seconds` (None where /proc/stat is missing)."""
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if before is None or after is None or after[0] == before[0]:
        return None
    total, idle = after[0] - before[0], after[1] - before[1]
    return round(1 - idle / total, 3)


def wait_until_quiet(
    what: str, log=print, *, limit: float = BUSY_LIMIT, max_wait: float = MAX_WAIT_S
) -> dict:
    """Wait (up to max_wait) for the CPUs to be at most `limit` busy; returns what was seen."""
    start = time.monotonic()
    busy = cpu_busy()
    while busy is not None and busy > limit and time.monotonic() - start < max_wait:
        log(f"  waiting for a quiet machine before {what}: CPUs {busy:.0%} busy")
        time.sleep(5)
        busy = cpu_busy()
    quiet = busy is None or busy <= limit
    if not quiet:
        log(f"  measuring {what} on a busy machine (CPUs {busy:.0%} busy): figures are inflated")
    return {
        "busy_before": busy,
        "quiet": quiet,
        "waited_s": round(time.monotonic() - start, 1),
        "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
