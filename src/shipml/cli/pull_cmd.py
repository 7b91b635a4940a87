"""`shipml pull REF`: download an image from a registry into the local store, verified."""

from __future__ import annotations

from typing import Annotated

import typer

from shipml.cli.console import err_console, out_console
from shipml.cli.registry_options import (
    InsecureOpt,
    JobsOpt,
    PasswordStdinOpt,
    UsernameOpt,
    explicit_credential,
    open_client,
    progress_bars,
    summary,
)
from shipml.cli.store_opts import JsonOpt, StoreOpt, open_store, print_json
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.registry.pull import pull


def pull_cmd(
    ref: Annotated[str, typer.Argument(help="Image to pull, e.g. registry.io/team/model:1.0.")],
    platform: Annotated[
        str | None,
        typer.Option(help="os/arch[/variant] to pick from a multi-platform image (default: host)."),
    ] = None,
    all_platforms: Annotated[
        bool, typer.Option("--all-platforms", help="Keep every platform of an index.")
    ] = False,
    store: StoreOpt = None,
    insecure: InsecureOpt = None,
    username: UsernameOpt = None,
    password_stdin: PasswordStdinOpt = False,
    jobs: JobsOpt = 4,
    as_json: JsonOpt = False,
) -> None:
    """Pull REF into the store, every blob checked against its digest; prints the digest."""
    reference = Reference.parse(ref)
    wanted = Platform.parse(platform) if platform else None
    credential = explicit_credential(username, password_stdin)
    target = open_store(store)
    client = open_client(reference, credential=credential, insecure=insecure)
    with client, progress_bars() as bars:
        result = pull(
            client,
            reference,
            target,
            platform=wanted,
            all_platforms=all_platforms,
            jobs=jobs,
            progress=bars,
        )
    err_console.print(f"{reference.familiar()}: {summary(result.outcomes.values())}")
    digest = result.descriptor.digest
    if as_json:
        body = {"reference": str(reference.with_digest(digest)), "digest": str(digest)}
        print_json(body)
    else:
        out_console.print(str(digest), markup=False)


def register(app: typer.Typer) -> None:
    app.command("pull")(pull_cmd)
