"""What the container verbs (run, ps, logs, stop) share: ``--engine`` and ``--time``."""

from __future__ import annotations

import click

engine_option = click.option(
    "--engine",
    "engine_name",
    help="podman or docker (default: $SHIPML_ENGINE, else Podman, else Docker).",
)
stop_timeout_option = click.option(
    "--time",
    "-t",
    "stop_timeout",
    type=click.IntRange(min=0),
    default=35,
    help="Seconds to let in-flight requests drain after SIGTERM before killing.",
)
