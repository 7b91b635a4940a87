"""Find the container engine to use: the one asked for, else Podman, else a reachable Docker."""

from __future__ import annotations

import os
import shutil

from shipml.engines.base import Engine
from shipml.engines.cli import run_tool
from shipml.engines.docker import Docker
from shipml.engines.podman import Podman
from shipml.errors import EngineError

ENGINE_ENV = "SHIPML_ENGINE"
ENGINES = ("podman", "docker")
_NO_ENGINE_HINT = (
    "install Podman (`apt-get install podman`) or Docker, or serve the project without a "
    "container: `shipml serve DIR`"
)


def find_engine(preferred: str | None = None) -> Engine:
    """``preferred`` (or $SHIPML_ENGINE) when given, else Podman, else Docker with a daemon up."""
    wanted = preferred or os.environ.get(ENGINE_ENV) or None
    if wanted is not None and wanted not in ENGINES:
        raise EngineError(f"unknown container engine {wanted!r}: expected one of {ENGINES}")
    reasons: list[str] = []
    for name in (wanted,) if wanted else ENGINES:
        binary = shutil.which(name)
        if binary is None:
            reasons.append(f"{name}: not installed")
            continue
        if name == "podman":
            return Podman(binary)
        try:  # the docker CLI alone is no engine: its daemon must answer
            run_tool([binary, "version", "--format", "{{.Server.Version}}"],
                     what="`docker version`", timeout_s=15)
        except EngineError as e:
            reasons.append(f"docker: {e.message}")
            continue
        return Docker(binary)
    raise EngineError("no usable container engine (" + "; ".join(reasons) + ")",
                      hint=_NO_ENGINE_HINT)
