"""`shipml gc`: delete the blobs no name in the local store reaches."""

from __future__ import annotations

import typer
from rich.filesize import decimal

from shipml.build.cache import LayerCache, PruneReport, default_cache_dir
from shipml.cli.console import out_console
from shipml.cli.store_opts import JsonOpt, StoreOpt, open_store, print_json


def gc(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
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


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)
