"""`synfab bench memory`: the demo server with 1,000 simulated machine tags, run for 10 minutes (`--quick`: 2),
its resident memory sampled every 10 s.

`synfab demo --sim-tags 1000` runs in a process of its own, exactly as a user starts it: web server, factory
simulator, the OPC UA and Modbus servers, connectors, buffer and writer — every tag changing about once a second.
RSS is read from /proc/<pid>/status (VmRSS) of that process. After the first minute (imports, the demo plant, the
first subscriptions) the figure should stay flat.

Figures: `rss_mb_after_1min`, `rss_mb_end`, `rss_mb_max`, `growth_mb_per_10min` (linear fit over the samples
after the first minute, scaled to 10 minutes), `tags`, `samples_stored`, `stored_per_s`; the baseline beside it
is `rss_mb_idle_python` — a bare Python interpreter with synfab imported, measured the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _slope_per_10min(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mr = sum(r for _, r in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (r - mr) for t, r in points) / var * 600 if var else 0.0


def run(quick: bool, database_url: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    import httpx2 as httpx  # the test client's HTTP library; only to wait until the server answers

    minutes = 2 if quick else 10
    tags = 1_000
    idle = subprocess.Popen([sys.executable, "-c", "import synfab.web.app, time; time.sleep(30)"])
    time.sleep(8)
    idle_mb = _rss_mb(idle.pid)
    idle.kill()
    with tempfile.TemporaryDirectory(prefix="synfab-bench-memory-") as tmp:
        port = _free_port()
        env = {**os.environ, "SYNFAB_BUFFER_DIR": str(Path(tmp) / "buffer")}
        cmd = [sys.executable, "-c", "from synfab.cli import main; main()", "demo", "--db", str(Path(tmp) / "m.db"),
               "--port", str(port), "--sim-tags", str(tags)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the demo server did not start") from None
                    time.sleep(1)
            log(f"demo up with {tags} simulated tags; sampling its RSS every 10 s for {minutes} min …")
            started = time.monotonic()
            samples: list[tuple[float, float]] = []
            while (elapsed := time.monotonic() - started) < minutes * 60:
                samples.append((elapsed, _rss_mb(proc.pid)))
                time.sleep(10)
            samples.append((time.monotonic() - started, _rss_mb(proc.pid)))
            from sqlalchemy import func, select

            from synfab.bootstrap import build_database
            from synfab.telemetry.models import Sample, Tag

            db = build_database(url=f"sqlite:///{Path(tmp) / 'm.db'}")
            with db.session() as s:
                stored = s.scalar(select(func.count()).select_from(Sample)) or 0
                tag_count = s.scalar(select(func.count()).select_from(Tag)) or 0
            db.dispose()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    settled = [p for p in samples if p[0] >= 60] or samples
    return {
        "minutes": minutes, "tags": tag_count, "samples_stored": stored,
        "stored_per_s": round(stored / samples[-1][0]),
        "rss_mb_after_1min": round(settled[0][1], 1), "rss_mb_end": round(samples[-1][1], 1),
        "rss_mb_max": round(max(r for _, r in samples), 1),
        "growth_mb_per_10min": round(_slope_per_10min(settled), 1),
        "rss_mb_idle_python": round(idle_mb, 1),
        "rss_series_mb": [round(r) for _, r in samples],
    }
