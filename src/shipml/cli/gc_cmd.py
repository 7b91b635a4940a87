"""`shipml gc`: delete the blobs no name in the local store reaches."""

from __future__ import annotations

from pathlib import Path

import click
from rich.filesize import decimal

from shipml.build.cache import LayerCache, PruneReport, default_cache_dir
from shipml.cli.console import out_console
from shipml.cli.store_opts import json_option, open_store, print_json, store_option


@click.command("gc")
@store_option
@json_option
def gc(store: Path | None, as_json: bool) -> None:
    """Free the space of removed images; prints how many blobs and bytes went.

    On the default store, the build cache also forgets the layers no stored image uses.
    """
    images = open_store(store)
    report = images.gc()
    cache = PruneReport(0, 0)
    if store is None:
        cache = LayerCache(default_cache_dir()).prune(images.has_blob)
    if as_json:
        print_json({"blobs": report.blobs, "bytes": report.bytes,
                    "build_cache": {"layers": cache.layers, "bytes": cache.bytes}})
    else:
        out_console.print(
            f"removed {report.blobs} blobs, freed {decimal(report.bytes)}; build cache: "
            f"removed {cache.layers} layers, freed {decimal(cache.bytes)}", markup=False
        )

