"""`shipml rm REF...`: remove names from the local store (``shipml gc`` frees the blobs)."""

from __future__ import annotations

from typing import Annotated

import typer

from shipml.cli.console import out_console
from shipml.cli.store_opts import StoreOpt, open_store
from shipml.oci.descriptor import REF_NAME


def rm(
    refs: Annotated[
        list[str], typer.Argument(help="Refs or digests; a digest removes every name of it.")
    ],
    store: StoreOpt = None,
) -> None:
    """Remove each REF from the store's index; prints what was removed, one per line."""
    images = open_store(store)
    for ref in refs:
        for descriptor in images.remove(ref):
            name = descriptor.annotations.get(REF_NAME)
            out_console.print(
                f"{name}@{descriptor.digest}" if name else str(descriptor.digest), markup=False
            )


def register(app: typer.Typer) -> None:
    app.command("rm")(rm)
