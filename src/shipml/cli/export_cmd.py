"""`shipml export REF -o FILE [--format oci|docker]`: write an image from the store as a tarball."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from shipml.archive import write_docker_archive, write_oci_archive
from shipml.cli.console import err_console, out_console
from shipml.cli.store_opts import StoreOpt, open_store
from shipml.errors import FormatError
from shipml.oci.descriptor import REF_NAME
from shipml.oci.image import Image, compressed_size, image_for_platform
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference


class ArchiveFormat(StrEnum):
    """The tarball formats ``export`` writes."""

    OCI = "oci"
    DOCKER = "docker"


def export(
    ref: Annotated[str, typer.Argument(help="Image in the store: a ref or a digest (prefix).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The tarball to write.")],
    archive_format: Annotated[
        ArchiveFormat,
        typer.Option(
            "--format", help="oci: an oci-archive; docker: for `docker load` / `podman load`."
        ),
    ] = ArchiveFormat.OCI,
    platform: Annotated[
        str | None,
        typer.Option(help="os/arch[/variant] to export from a multi-platform image."),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Write REF to FILE atomically (nothing is left behind on failure); prints FILE."""
    images = open_store(store)
    descriptor = images.resolve(ref)
    image = images.load(descriptor)
    stored = descriptor.annotations.get(REF_NAME)
    name = Reference.parse(stored) if stored else None
    if platform is not None and not isinstance(image, Image):
        image = image_for_platform(image, Platform.parse(platform))
    if archive_format is ArchiveFormat.DOCKER and not isinstance(image, Image):
        raise FormatError(
            f"{ref} is a multi-platform image; a docker archive holds one platform",
            hint="pass --platform, e.g. --platform linux/amd64",
        )
    # The layer bytes: compressed for an oci-archive; inflated (size unknown) for docker.
    total = compressed_size(image) if archive_format is ArchiveFormat.OCI else None
    with _bar(f"export {output.name}", total) as advance:
        if isinstance(image, Image) and archive_format is ArchiveFormat.DOCKER:
            write_docker_archive(image, output, ref=name, progress=advance)
        else:
            write_oci_archive(image, output, ref=name, progress=advance)
    out_console.print(str(output), markup=False)


@contextmanager
def _bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A transient bytes-and-speed bar on stderr; yields the function that advances it."""
    columns = (TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=err_console, transient=True) as bars:
        task = bars.add_task(label, total=total)
        yield lambda n: bars.advance(task, n)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
