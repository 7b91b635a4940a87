"""The installed `shipml` executable, run as a user runs it: one process per command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

SHIPML = str(Path(sys.executable).parent / "shipml")


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """`shipml ARGS` with ``env`` (default: this process's), stdout and stderr captured as text;
    its exit status is the caller's to check."""
    return subprocess.run([SHIPML, *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)
