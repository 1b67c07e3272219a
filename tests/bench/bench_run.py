"""What the benches' smoke tests share: run one script of ``bench/`` in a fresh interpreter."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, timeout: float = 300, unset: Sequence[str] = (), **env: str) -> list[str]:
    """Run ``bench/<script>`` with ``env`` added to the environment and ``unset`` taken out of it;
    assert that it succeeds and return the lines it printed (GNU Radio's own ``:info:`` log lines
    left out)."""
    environment = {k: v for k, v in dict(os.environ, **env).items() if k not in unset}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script)], env=environment,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return [line for line in done.stdout.strip().splitlines() if ":info:" not in line]
