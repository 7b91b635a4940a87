"""`shipml serve [DIR]`: serve a project's model over V2/V1 HTTP on this machine."""

from __future__ import annotations

from pathlib import Path

import click

from shipml.cli.params import project_argument


@click.command("serve")
@project_argument
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: serve.port, 8080).")
@click.option("--host", default="127.0.0.1", help="Address to listen on.")
@click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes (default: serve.workers)."
)
def serve(project: Path, port: int | None, host: str, workers: int | None) -> None:
    """Serve the model until Ctrl-C or SIGTERM (drains in-flight requests, then exits 0).

    PROJECT is the directory with shipml.yaml (default: this one).
    """
    from shipml.runtime.main import serve as run_server

    run_server(project, host=host, port=port, workers=workers)

