"""`shipml build [DIR]`: the project's OCI image into the local store; prints its digest."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import click
from rich.filesize import decimal
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from shipml.build.builder import BuiltLayer
from shipml.build.cache import LayerCache, default_cache_dir
from shipml.build.project import DEFAULT_PLATFORM, build_project
from shipml.cli.build_base import base_opener
from shipml.cli.console import err_console, out_console
from shipml.cli.params import EnumChoice, project_argument
from shipml.cli.registry_options import insecure_option, push_refs, require_registry_tags
from shipml.cli.store_opts import json_option, open_store, print_json, store_option
from shipml.errors import ShipmlError
from shipml.oci.image import Image
from shipml.oci.mediatypes import Compression
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.spec import Spec

platform_option = click.option(
    "--platform",
    multiple=True,
    help="os/arch to build for, repeatable or comma-separated (default linux/amd64); "
    "several give a multi-platform image index.",
)


class LayerProgress:
    """A Reporter: a spinner with elapsed time per layer, then one line with size and status."""

    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._task: TaskID | None = None

    def started(self, name: str, description: str) -> None:
        """Show a spinner for the layer being looked up or built."""
        self._task = self._bars.add_task(f"{name}: {description}", total=None)

    def finished(self, built: BuiltLayer) -> None:
        """Replace the spinner with the layer's line."""
        if self._task is not None:
            self._bars.remove_task(self._task)
        status = "cached" if built.cached else f"built in {built.seconds:.1f}s"
        self._bars.console.print(
            f"  {built.name:<7} {decimal(built.layer.size()):>9}  {built.layer.digest().short}"
            f"  {status}",
            markup=False, highlight=False, soft_wrap=True,
        )


def model_flavor(spec: Spec, project: Path) -> str | None:
    """The flavor the server will load the model with (for the image's labels), if known now."""
    from shipml.runtime.flavors import resolve_flavor  # numpy: only when a build needs it

    try:
        return resolve_flavor(spec.model, project)
    except ShipmlError:
        return None  # not recognised: the label says "auto" and serving reports the model


def parse_platforms(values: Sequence[str]) -> list[Platform]:
    """``--platform`` values (repeated or comma-separated) as platforms, duplicates dropped."""
    texts = [t for v in values for t in v.split(",") if t.strip()]
    platforms = [Platform.parse(t) for t in texts] or [DEFAULT_PLATFORM]
    return list(dict.fromkeys(platforms))


@click.command("build")
@project_argument
@click.option(
    "--tag", "-t", multiple=True,
    help="NAME[:TAG] to store it under (repeatable; default NAME:VERSION and NAME:latest "
    "from shipml.yaml).",
)
@platform_option
@click.option(
    "--compression", type=EnumChoice(Compression), default=Compression.GZIP.value,
    help="Layer compression: gzip (everywhere) or zstd (faster).",
)
@store_option
@json_option
@click.option("--push", is_flag=True, help="Then push it to each --tag (which names a registry).")
@insecure_option
def build(
    project: Path,
    tag: tuple[str, ...],
    platform: tuple[str, ...],
    compression: Compression,
    store: Path | None,
    as_json: bool,
    push: bool,
    insecure: tuple[str, ...],
) -> None:
    """Build the image (no Docker needed) into the local store; prints its digest.

    PROJECT is the directory with shipml.yaml (default: this one).
    """
    if push:
        require_registry_tags(tag)
    platforms = parse_platforms(platform)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    images = open_store(store)
    with ExitStack() as stack:
        bars = stack.enter_context(Progress(*columns, console=err_console, transient=True))
        result = build_project(
            project,
            cache=LayerCache(default_cache_dir()),
            open_base=base_opener(stack, pull_into=images, insecure=insecure),
            platforms=platforms,
            compression=compression,
            reporter=LayerProgress(bars),
            flavor_of=lambda spec: model_flavor(spec, project),
        )
        spec = result.spec
        names = list(tag) or [f"{spec.name}:{spec.version}", f"{spec.name}:latest"]
        refs = [Reference.parse(n) for n in names]
        for ref in refs:
            descriptor = images.write(result.image, ref=ref)
    if push:
        push_refs(images.open_any(str(descriptor.digest)), refs, insecure=insecure)
    lock_note = "written" if result.lock_written else "reused"
    if as_json:
        print_json({
            "digest": str(descriptor.digest),
            "mediaType": descriptor.media_type,
            "refs": [str(r) for r in refs],
            "lock": lock_note,
            "platforms": [
                {
                    "platform": str(r.image.config_file().platform),
                    "digest": str(r.image.digest()),
                    "layers": [
                        {"name": b.name, "digest": str(b.layer.digest()), "size": b.layer.size(),
                         "cached": b.cached, "seconds": round(b.seconds, 3)}
                        for b in r.layers
                    ],
                }
                for r in result.results
            ],
        })
        return
    kind = "image" if isinstance(result.image, Image) else "image index"
    err_console.print(f"shipml.lock {lock_note}; stored {kind} as {', '.join(names)}",
                      markup=False, highlight=False, soft_wrap=True)
    out_console.print(str(descriptor.digest), markup=False, highlight=False, soft_wrap=True)

