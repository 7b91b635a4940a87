"""`shipml pull REF`: download an image from a registry into the local store, verified."""

from __future__ import annotations

import click

from shipml.cli.console import err_console, out_console
from shipml.cli.registry_options import (
    Transfer,
    open_client,
    progress_bars,
    summary,
    transfer_options,
)
from shipml.cli.store_opts import open_store, print_json
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.registry.pull import pull


@click.command("pull")
@click.argument("ref")
@click.option(
    "--platform", help="os/arch[/variant] to pick from a multi-platform image (default: host)."
)
@click.option("--all-platforms", is_flag=True, help="Keep every platform of an index.")
@transfer_options
def pull_cmd(
    ref: str,
    platform: str | None,
    all_platforms: bool,
    transfer: Transfer,
) -> None:
    """Pull REF into the store, every blob checked against its digest; prints the digest.

    REF is a registry image, e.g. registry.io/team/model:1.0 or ...@sha256:...
    """
    reference = Reference.parse(ref)
    wanted = Platform.parse(platform) if platform else None
    target = open_store(transfer.store)
    client = open_client(reference, credential=transfer.credential, insecure=transfer.insecure)
    with client, progress_bars() as bars:
        result = pull(
            client,
            reference,
            target,
            platform=wanted,
            all_platforms=all_platforms,
            jobs=transfer.jobs,
            progress=bars,
        )
    err_console.print(f"{reference.familiar()}: {summary(result.outcomes.values())}")
    digest = result.descriptor.digest
    if transfer.as_json:
        body = {"reference": str(reference.with_digest(digest)), "digest": str(digest)}
        print_json(body)
    else:
        out_console.print(str(digest), markup=False)

