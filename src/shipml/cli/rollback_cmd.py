"""`shipml rollback NAME`: return a deployment to its previous (or a chosen) revision."""

from __future__ import annotations

from typing import Annotated

import typer

from shipml.cli.console import out_console
from shipml.cli.kube import (
    ContextOpt,
    NamespaceOpt,
    TimeoutOpt,
    WaitOpt,
    connect,
    wait_with_progress,
)


def rollback(
    name: Annotated[str, typer.Argument(help="The deployment (the spec's name).")],
    to_revision: Annotated[int | None, typer.Option(help="Revision to restore.")] = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 600,
) -> None:
    """Restore an earlier pod template and wait for it; prints the image now running."""
    cluster = connect(context, namespace)
    target = cluster.rollback(name, to_revision=to_revision)
    if wait:
        wait_with_progress(cluster, name, timeout_s=timeout)
    out_console.print(target.template["spec"]["containers"][0]["image"])


def register(app: typer.Typer) -> None:
    app.command()(rollback)
