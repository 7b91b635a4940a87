"""`shipml logs NAME [-f]`: a shipml container's output (the server's JSON lines)."""

from __future__ import annotations

import sys

import click

from shipml.cli.engine_opts import engine_option
from shipml.engines.detect import find_engine


@click.command("logs")
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", type=click.IntRange(min=0), help="Only the last N lines.")
@engine_option
def logs(name: str, follow: bool, tail: int | None, engine_name: str | None) -> None:
    """Print the logs of container NAME (see `shipml ps`) on stdout, as it wrote them."""
    engine = find_engine(engine_name)
    engine.state(name)  # a clear error for an unknown name, before streaming
    for line in engine.logs(name, tail=tail, follow=follow):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()

