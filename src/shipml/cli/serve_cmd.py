"""`shipml serve [DIR]`: serve a project's model over V2/V1 HTTP on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    project: Annotated[Path, typer.Argument(help="Project directory with shipml.yaml.")] = Path(
        "."
    ),
    port: Annotated[int | None, typer.Option(help="Port (default: serve.port, 8080).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: serve.workers).")
    ] = None,
) -> None:
    """Serve the model until Ctrl-C or SIGTERM (drains in-flight requests, then exits 0)."""
    from shipml.runtime.main import serve as run_server

    run_server(project, host=host, port=port, workers=workers)


def register(app: typer.Typer) -> None:
    app.command()(serve)
