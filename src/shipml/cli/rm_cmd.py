"""`shipml rm REF...`: remove names from the local store (``shipml gc`` frees the blobs)."""

from __future__ import annotations

from pathlib import Path

import click

from shipml.cli.console import out_console
from shipml.cli.store_opts import open_store, store_option
from shipml.oci.descriptor import REF_NAME


@click.command("rm")
@click.argument("refs", metavar="REF...", nargs=-1, required=True)
@store_option
def rm(refs: tuple[str, ...], store: Path | None) -> None:
    """Remove each REF from the store's index; prints what was removed, one per line.

    A REF is a ref or a digest; a digest removes every name of it.
    """
    images = open_store(store)
    for ref in refs:
        for descriptor in images.remove(ref):
            name = descriptor.annotations.get(REF_NAME)
            out_console.print(
                f"{name}@{descriptor.digest}" if name else str(descriptor.digest), markup=False
            )

