"""`shipml delete NAME`: remove every object `shipml deploy` made for a model."""

from __future__ import annotations

from typing import Annotated

import typer

from shipml.cli.console import out_console
from shipml.cli.kube import ContextOpt, NamespaceOpt, connect
from shipml.errors import DeployError


def delete(
    name: Annotated[str, typer.Argument(help="The deployment (the spec's name).")],
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Delete the Deployment, Service, HPA, PDB, Ingress and pull Secret; prints each one."""
    cluster = connect(context, namespace)
    gone = cluster.delete(name)
    if not gone:
        raise DeployError(f"nothing of {name!r} in namespace {cluster.namespace!r} to delete")
    for obj in gone:
        out_console.print(obj)


def register(app: typer.Typer) -> None:
    app.command()(delete)
