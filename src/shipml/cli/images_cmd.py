"""`shipml images`: list the images in the local store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.filesize import decimal

from shipml.cli.store_opts import (
    json_option,
    open_store,
    print_columns,
    print_json,
    store_option,
)
from shipml.errors import ShipmlError
from shipml.layout import Store, StoredRef
from shipml.oci.image import Image, compressed_size


def _row(store: Store, entry: StoredRef) -> dict[str, Any]:
    row: dict[str, Any] = {
        "reference": str(entry.ref) if entry.ref else None,
        "repository": entry.ref.familiar().removesuffix(f":{entry.ref.tag}")
        if entry.ref
        else "<none>",
        "tag": entry.ref.tag if entry.ref else "<none>",
        "digest": str(entry.descriptor.digest),
        "media_type": entry.descriptor.media_type,
    }
    try:
        image = store.load(entry.descriptor)
        if isinstance(image, Image):
            config = image.config_file()
            row["platforms"] = [str(config.platform)]
            row["created"] = config.created
        else:
            children = image.index_manifest().manifests
            row["platforms"] = [str(c.platform) for c in children if c.platform]
            row["created"] = None
        row["size"] = compressed_size(image)
    except ShipmlError as e:
        row |= {"platforms": [], "created": None, "size": None, "error": e.message}
    return row


@click.command("images")
@store_option
@json_option
def images(store: Path | None, as_json: bool) -> None:
    """List the images in the store: name, tag, digest, platforms, created, compressed size."""
    target = open_store(store)
    rows = [_row(target, entry) for entry in target.refs()]
    if as_json:
        print_json(rows)
        return
    lines = [["REPOSITORY", "TAG", "DIGEST", "PLATFORM", "CREATED", "SIZE"]]
    for row in rows:
        lines.append(
            [
                row["repository"],
                row["tag"],
                row["digest"].split(":", 1)[1][:12],
                "damaged: " + row["error"] if "error" in row else ",".join(row["platforms"]),
                (row["created"] or "")[:19].replace("T", " "),
                decimal(row["size"]) if row["size"] is not None else "?",
            ]
        )
    print_columns(lines)

