"""What the verbs over the local image store share: ``--store``, ``--json`` and opening it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shipml.cli.console import out_console
from shipml.layout import Store

store_option = click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Image store directory (default: $SHIPML_HOME/store, else ~/.cache/shipml/store).",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."
)


def open_store(path: Path | None) -> Store:
    """The local image store at ``path`` or the default one, created when missing."""
    return Store.open(path)


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout, with no rich markup applied."""
    out_console.print(json.dumps(value, indent=2), markup=False, highlight=False)


def print_columns(rows: list[list[str]]) -> None:
    """Rows as space-aligned columns, never wrapped or cut (like ``podman images``)."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out_console.print(line.rstrip(), markup=False, highlight=False, crop=False)
