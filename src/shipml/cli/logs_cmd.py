"""`shipml logs NAME [-f]`: a shipml container's output (the server's JSON lines)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipml.cli.engine_opts import EngineOpt
from shipml.engines.detect import find_engine


def logs(
    name: Annotated[str, typer.Argument(help="Container name (see `shipml ps`).")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    tail: Annotated[
        int | None, typer.Option(help="Only the last N lines.", min=0, show_default=False)
    ] = None,
    engine_name: EngineOpt = None,
) -> None:
    """Print the container's logs on stdout, as it wrote them."""
    engine = find_engine(engine_name)
    engine.state(name)  # a clear error for an unknown name, before streaming
    for line in engine.logs(name, tail=tail, follow=follow):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)
