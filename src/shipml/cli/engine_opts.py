"""What the container verbs (run, ps, logs, stop) share: ``--engine`` and finding the engine."""

from __future__ import annotations

from typing import Annotated

import typer

EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="podman or docker (default: $SHIPML_ENGINE, else Podman, else Docker).",
        show_default=False,
    ),
]
StopTimeoutOpt = Annotated[
    int,
    typer.Option(
        "--time", "-t", min=0,
        help="Seconds to let in-flight requests drain after SIGTERM before killing.",
    ),
]

