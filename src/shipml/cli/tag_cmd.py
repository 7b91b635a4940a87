"""`shipml tag SRC DEST`: give an image in the local store another name."""

from __future__ import annotations

from typing import Annotated

import typer

from shipml.cli.console import out_console
from shipml.cli.store_opts import StoreOpt, open_store
from shipml.oci.reference import Reference


def tag_cmd(
    src: Annotated[str, typer.Argument(help="Image in the store: a ref or a digest (prefix).")],
    dest: Annotated[str, typer.Argument(help="New name, e.g. registry.io/team/model:1.0.")],
    store: StoreOpt = None,
) -> None:
    """Name SRC as DEST too (no blob is copied); prints DEST pinned to its digest."""
    target = Reference.parse(dest)
    images = open_store(store)
    descriptor = images.write(images.open_any(src), ref=target)
    out_console.print(str(target.with_digest(descriptor.digest)), markup=False)


def register(app: typer.Typer) -> None:
    app.command("tag")(tag_cmd)
