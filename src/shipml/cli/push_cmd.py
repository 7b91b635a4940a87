"""`shipml push REF [DEST]`: upload an image from the local store (or another registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipml.cli.console import out_console
from shipml.cli.registry_options import (
    InsecureOpt,
    JobsOpt,
    PasswordStdinOpt,
    UsernameOpt,
    explicit_credential,
    open_client,
    push_image,
)
from shipml.cli.store_opts import JsonOpt, StoreOpt, open_store, print_json
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


def push_cmd(
    ref: Annotated[str, typer.Argument(help="Image in the local store, or on a registry to copy.")],
    dest: Annotated[str | None, typer.Argument(help="Where to push (default: REF).")] = None,
    store: StoreOpt = None,
    insecure: InsecureOpt = None,
    username: UsernameOpt = None,
    password_stdin: PasswordStdinOpt = False,
    jobs: JobsOpt = 4,
    as_json: JsonOpt = False,
) -> None:
    """Push REF to DEST (blobs first, then the manifest); prints the manifest digest."""
    target = Reference.parse(dest or ref)
    credential = explicit_credential(username, password_stdin)
    local = _from_store(ref, store)
    with open_client(target, credential=credential, insecure=insecure) as client:
        if local is not None:
            result = push_image(local, target, client, jobs=jobs)
        else:
            origin = Reference.parse(ref)
            with open_client(origin, insecure=insecure) as origin_client:
                source = remote_artifact(origin_client, origin)
                same = origin.registry == target.registry
                mounts = (origin.repository,) if same else ()
                result = push_image(source, target, client, jobs=jobs, mount_from=mounts)
    print_result(result, target, as_json=as_json)


def _from_store(ref: str, store: Path | None) -> Image | ImageIndex | None:
    """REF from the local store; None when it is not there but names a registry to copy from."""
    try:
        return open_store(store).open_any(ref)
    except NotFoundError:
        if names_registry(ref):
            return None
        raise


def register(app: typer.Typer) -> None:
    app.command("push")(push_cmd)
