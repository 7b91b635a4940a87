"""`shipml export REF -o FILE [--format oci|docker]`: write an image from the store as a tarball."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from shipml.archive import write_docker_archive, write_oci_archive
from shipml.cli.console import err_console, out_console
from shipml.cli.params import EnumChoice
from shipml.cli.store_opts import open_store, store_option
from shipml.errors import FormatError
from shipml.oci.descriptor import REF_NAME
from shipml.oci.image import Image, compressed_size, image_for_platform
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference


class ArchiveFormat(StrEnum):
    """The tarball formats ``export`` writes."""

    OCI = "oci"
    DOCKER = "docker"


@click.command("export")
@click.argument("ref")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The tarball to write.",
)
@click.option(
    "--format", "archive_format", type=EnumChoice(ArchiveFormat), default=ArchiveFormat.OCI.value,
    help="oci: an oci-archive; docker: for `docker load` / `podman load`.",
)
@click.option("--platform", help="os/arch[/variant] to export from a multi-platform image.")
@store_option
def export(
    ref: str,
    output: Path,
    archive_format: ArchiveFormat,
    platform: str | None,
    store: Path | None,
) -> None:
    """Write REF to the --output tarball atomically (nothing is left behind on failure).

    REF is an image in the store: a ref or a digest (prefix). Prints the tarball's path.
    """
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

