"""`shipml rollback NAME`: return a deployment to its previous (or a chosen) revision."""

from __future__ import annotations

import click

from shipml.cli.console import out_console
from shipml.cli.kube import (
    connect,
    context_option,
    namespace_option,
    timeout_option,
    wait_option,
    wait_with_progress,
)


@click.command("rollback")
@click.argument("name")
@click.option("--to-revision", type=click.IntRange(min=1), help="Revision to restore.")
@context_option
@namespace_option
@wait_option
@timeout_option
def rollback(
    name: str,
    to_revision: int | None,
    context: str | None,
    namespace: str | None,
    wait: bool,
    timeout: int,
) -> None:
    """Restore an earlier pod template and wait for it; prints the image now running.

    NAME is the deployment's, the spec's name; by default the previous revision returns.
    """
    cluster = connect(context, namespace)
    target = cluster.rollback(name, to_revision=to_revision)
    if wait:
        wait_with_progress(cluster, name, timeout_s=timeout)
    out_console.print(target.template["spec"]["containers"][0]["image"])

