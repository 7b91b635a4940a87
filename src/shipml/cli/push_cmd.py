"""`shipml push REF [DEST]`: upload an image from the local store (or another registry)."""

from __future__ import annotations

from pathlib import Path

import click

from shipml.cli.console import out_console
from shipml.cli.registry_options import (
    Transfer,
    open_client,
    push_image,
    transfer_options,
)
from shipml.cli.store_opts import open_store, print_json
from shipml.errors import NotFoundError
from shipml.oci.image import Image, ImageIndex
from shipml.oci.reference import Reference, names_registry
from shipml.registry.push import PushResult
from shipml.registry.remote import remote_artifact


def print_result(result: PushResult, dest: Reference, *, as_json: bool) -> None:
    """The pushed digest (or JSON) on stdout."""
    pinned = dest.with_digest(result.digest)
    if as_json:
        counts = {str(o): result.count(o) for o in set(result.outcomes.values())}
        body = {"reference": str(pinned), "digest": str(result.digest), **counts}
        print_json(body)
    else:
        out_console.print(str(result.digest), markup=False)


@click.command("push")
@click.argument("ref")
@click.argument("dest", required=False)
@transfer_options
def push_cmd(
    ref: str,
    dest: str | None,
    transfer: Transfer,
) -> None:
    """Push REF to DEST (blobs first, then the manifest); prints the manifest digest.

    REF is an image in the local store, or on a registry to copy from; DEST defaults to REF.
    """
    target = Reference.parse(dest or ref)
    local = _from_store(ref, transfer.store)
    insecure, jobs = transfer.insecure, transfer.jobs
    with open_client(target, credential=transfer.credential, insecure=insecure) as client:
        if local is not None:
            result = push_image(local, target, client, jobs=jobs)
        else:
            origin = Reference.parse(ref)
            with open_client(origin, insecure=insecure) as origin_client:
                source = remote_artifact(origin_client, origin)
                same = origin.registry == target.registry
                mounts = (origin.repository,) if same else ()
                result = push_image(source, target, client, jobs=jobs, mount_from=mounts)
    print_result(result, target, as_json=transfer.as_json)


def _from_store(ref: str, store: Path | None) -> Image | ImageIndex | None:
    """REF from the local store; None when it is not there but names a registry to copy from."""
    try:
        return open_store(store).open_any(ref)
    except NotFoundError:
        if names_registry(ref):
            return None
        raise

