"""`shipml gc`: delete the blobs no name in the local store reaches."""

from __future__ import annotations

import typer
from rich.filesize import decimal

from shipml.cli.console import out_console
from shipml.cli.store_opts import JsonOpt, StoreOpt, open_store, print_json


def gc(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Free the space of removed images; prints how many blobs and bytes went."""
    report = open_store(store).gc()
    if as_json:
        print_json({"blobs": report.blobs, "bytes": report.bytes})
    else:
        out_console.print(
            f"removed {report.blobs} blobs, freed {decimal(report.bytes)}", markup=False
        )


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)
