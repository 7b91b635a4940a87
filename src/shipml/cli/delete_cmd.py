"""`shipml delete NAME`: remove every object `shipml deploy` made for a model."""

from __future__ import annotations

import click

from shipml.cli.console import out_console
from shipml.cli.kube import connect, context_option, namespace_option
from shipml.errors import DeployError


@click.command("delete")
@click.argument("name")
@context_option
@namespace_option
def delete(name: str, context: str | None, namespace: str | None) -> None:
    """Delete the Deployment, Service, HPA, PDB, Ingress and pull Secret; prints each one.

    NAME is the deployment's, the spec's name.
    """
    cluster = connect(context, namespace)
    gone = cluster.delete(name)
    if not gone:
        raise DeployError(f"nothing of {name!r} in namespace {cluster.namespace!r} to delete")
    for obj in gone:
        out_console.print(obj)

