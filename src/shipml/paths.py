"""Where shipml keeps its state on this machine."""

from __future__ import annotations

import os
from pathlib import Path


def shipml_home() -> Path:
    """``$SHIPML_HOME``, else ``$XDG_CACHE_HOME/shipml`` (``~/.cache/shipml`` by default)."""
    home = os.environ.get("SHIPML_HOME")
    if home:
        return Path(home).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "shipml"
