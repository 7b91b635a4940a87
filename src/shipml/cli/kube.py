"""Options and output shared by the Kubernetes verbs (deploy, status, rollback, delete)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from shipml.cli.console import err_console
from shipml.deploy.rollout import RolloutState

if TYPE_CHECKING:  # the kubernetes client takes ~0.2 s to import: only verbs that connect pay
    from shipml.deploy.kubernetes import Cluster

context_option = click.option(
    "--context", help="kubeconfig context (default: the current one)."
)
namespace_option = click.option(
    "--namespace", "-n", help="Namespace (default: deploy.namespace, else the context's)."
)
timeout_option = click.option(
    "--timeout", type=click.IntRange(min=1), default=600,
    help="Seconds to wait for the rollout before diagnosing it.",
)
wait_option = click.option("--wait/--no-wait", default=True, help="Wait for the rollout.")


def connect(context: str | None, namespace: str | None) -> Cluster:
    """The cluster from KUBECONFIG, ~/.kube/config or in-cluster; says which namespace on stderr."""
    from shipml.deploy.kubernetes import Cluster

    cluster = Cluster.connect(context=context, namespace=namespace)
    where = f"cluster {cluster.api.configuration.host}, namespace {cluster.namespace}"
    err_console.print(where, soft_wrap=True, markup=False)
    return cluster


def wait_with_progress(cluster: Cluster, name: str, *, timeout_s: int) -> RolloutState:
    """Follow the rollout with a progress bar of available replicas on stderr."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} available"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(f"rolling out {name}", total=None)

        def show(state: RolloutState) -> None:
            bar.update(
                task,
                description=state.message,
                total=state.desired,
                completed=min(state.available, state.desired),
            )

        state = cluster.wait_rollout(name, timeout_s=timeout_s, on_progress=show)
    err_console.print(state.message)
    return state
