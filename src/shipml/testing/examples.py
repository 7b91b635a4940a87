"""The example projects as tests and benchmarks use them: built once, shared read-only."""

from __future__ import annotations

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
