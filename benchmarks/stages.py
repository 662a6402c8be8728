"""Timing and peak-memory measurement of benchmark stages."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


class Stages:
    """Times stages and samples the peak resident memory while each runs."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, int, int]] = []

    @contextmanager
    def stage(self, name: str, rows: int):
        peak = [rss_bytes()]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.005):
                peak[0] = max(peak[0], rss_bytes())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            done.set()
            sampler.join()
            peak[0] = max(peak[0], rss_bytes())
            self.rows.append((name, elapsed, rows, peak[0]))
            print(
                f"  {name:<38} {elapsed:7.2f} s {rows / elapsed:14,.0f} rows/s "
                f"  peak RSS {peak[0] / 2**20:7,.0f} MiB",
                flush=True,
            )

    def total(self, names: set[str]) -> tuple[float, int]:
        chosen = [row for row in self.rows if row[0] in names]
        return sum(r[1] for r in chosen), max(r[3] for r in chosen)
