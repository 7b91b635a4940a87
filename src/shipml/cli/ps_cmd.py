"""`shipml ps`: the containers shipml started (by their label), with their URLs."""

from __future__ import annotations

import click
from rich.table import Table

from shipml.cli.console import out_console
from shipml.cli.engine_opts import engine_option
from shipml.cli.store_opts import json_option, print_json
from shipml.engines.detect import find_engine


@click.command("ps")
@click.option("--all", "-a", "all_states", is_flag=True, help="Include stopped containers.")
@engine_option
@json_option
def ps(all_states: bool, engine_name: str | None, as_json: bool) -> None:
    """List shipml's containers: name, image, state, URL."""
    engine = find_engine(engine_name)
    rows = engine.containers(all_states=all_states)
    if as_json:
        print_json([
            {"name": c.name, "id": c.id, "image": c.ref, "state": c.state, "status": c.status,
             "urls": [p.url for p in c.ports], "engine": engine.name}
            for c in rows
        ])
        return
    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "IMAGE", "STATUS", "URL"):
        table.add_column(column)
    for c in rows:
        table.add_row(c.name, c.ref, c.status, " ".join(p.url for p in c.ports))
    out_console.print(table)

