"""The example projects as tests and benchmarks use them: built once, shared read-only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BuiltExample:
    """An example after `shipml build --json`: the project (now with its shipml.lock), the
    SHIPML_HOME whose store and build cache hold the image, and the printed JSON."""

    project: Path
    home: Path
    result: dict[str, Any]


def train_example(examples: Path, name: str, dest: Path) -> Path:
    """Copy ``examples/NAME`` to ``dest/NAME``, run its train.py there; returns that project."""
    project = dest / name
    shutil.copytree(examples / name, project,
                    ignore=shutil.ignore_patterns("*.joblib", "__pycache__", "shipml.lock"))
    done = subprocess.run([sys.executable, "train.py", str(project)], cwd=project,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{project / 'train.py'} failed:\n{done.stderr[-2000:]}")
    return project
