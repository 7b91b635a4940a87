"""`shipml tag SRC DEST`: give an image in the local store another name."""

from __future__ import annotations

from pathlib import Path

import click

from shipml.cli.console import out_console
from shipml.cli.store_opts import open_store, store_option
from shipml.oci.reference import Reference


@click.command("tag")
@click.argument("src")
@click.argument("dest")
@store_option
def tag_cmd(src: str, dest: str, store: Path | None) -> None:
    """Name SRC as DEST too (no blob is copied); prints DEST pinned to its digest.

    SRC is a ref or a digest (prefix) in the store; DEST the new name,
    e.g. registry.io/team/model:1.0.
    """
    target = Reference.parse(dest)
    images = open_store(store)
    descriptor = images.write(images.open_any(src), ref=target)
    out_console.print(str(target.with_digest(descriptor.digest)), markup=False)

