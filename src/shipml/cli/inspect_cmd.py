"""`shipml inspect REF [--json]`: an image's config, layers and labels from the local store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.filesize import decimal

from shipml.cli.console import out_console
from shipml.cli.store_opts import (
    json_option,
    open_store,
    print_columns,
    print_json,
    store_option,
)
from shipml.oci.image import Image, ImageIndex, compressed_size


def describe(image: Image | ImageIndex) -> dict[str, Any]:
    """The JSON ``inspect`` prints: digests, platform, runtime config, labels, layers."""
    out: dict[str, Any] = {
        "digest": str(image.digest()),
        "mediaType": image.media_type(),
        "size": compressed_size(image),
    }
    if not isinstance(image, Image):
        out["manifests"] = [d.to_json() for d in image.index_manifest().manifests]
        return out
    config = image.config_file()
    raw = json.loads(image.raw_config_file())
    built = [h for h in config.history if not h.empty_layer]
    layers = []
    for i, layer in enumerate(image.layers()):
        layers.append(
            {
                "digest": str(layer.digest()),
                "diffID": str(layer.diff_id()),
                "size": layer.size(),
                "mediaType": layer.media_type(),
                "createdBy": built[i].created_by if i < len(built) else None,
            }
        )
    out |= {
        "platform": str(config.platform),
        "created": config.created,
        "config": raw.get("config", {}),
        "labels": dict(config.config.labels),
        "annotations": dict(image.manifest().annotations),
        "layers": layers,
    }
    return out


def _show(info: dict[str, Any]) -> None:
    rows = [
        ["Digest", info["digest"]],
        ["Media type", info["mediaType"]],
        ["Size", decimal(info["size"])],
    ]
    if "manifests" in info:
        for child in info["manifests"]:
            platform = child.get("platform", {})
            name = "/".join(platform.get(k, "") for k in ("os", "architecture", "variant"))
            rows.append([name.rstrip("/") or "(no platform)", child["digest"]])
        print_columns(rows)
        return
    rows += [["Platform", info["platform"]], ["Created", info["created"] or ""]]
    rows += [[k, json.dumps(v)] for k, v in info["config"].items() if k != "Labels"]
    rows += [["Label", f"{k}={v}"] for k, v in sorted(info["labels"].items())]
    print_columns(rows)
    out_console.print()
    layers = [["LAYER", "SIZE", "CREATED BY"]]
    layers += [
        [layer["digest"][7:19], decimal(layer["size"]), layer["createdBy"] or ""]
        for layer in info["layers"]
    ]
    print_columns(layers)


@click.command("inspect")
@click.argument("ref")
@store_option
@json_option
def inspect_cmd(ref: str, store: Path | None, as_json: bool) -> None:
    """Show REF's digest, platform, runtime config, labels and layers.

    REF is an image in the store: a ref or a digest (prefix).
    """
    info = {"reference": ref, **describe(open_store(store).open_any(ref))}
    if as_json:
        print_json(info)
    else:
        _show(info)

