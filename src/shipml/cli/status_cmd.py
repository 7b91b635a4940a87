"""`shipml status NAME`: where a deployment's rollout stands, and why pods are not ready."""

from __future__ import annotations

import dataclasses
import json

import click

from shipml.cli.console import out_console
from shipml.cli.kube import connect, context_option, namespace_option
from shipml.deploy.diagnosis import explain
from shipml.deploy.rollout import revision, rollout_state
from shipml.errors import DeployError


@click.command("status")
@click.argument("name")
@context_option
@namespace_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(name: str, context: str | None, namespace: str | None, as_json: bool) -> None:
    """Print the rollout state, image, revision and any reason pods are not ready.

    NAME is the deployment's, the spec's name.
    """
    cluster = connect(context, namespace)
    deployment = cluster.get("apps/v1", "Deployment", name)
    if deployment is None:
        raise DeployError(f"no deployment {name!r} in namespace {cluster.namespace!r}")
    state = rollout_state(deployment)
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    findings = [] if state.done else cluster.diagnose(name, deployment=deployment)
    if as_json:
        out_console.print_json(
            json.dumps(
                {
                    **dataclasses.asdict(state),
                    "name": name,
                    "namespace": cluster.namespace,
                    "image": image,
                    "revision": revision(deployment),
                    "findings": [dataclasses.asdict(f) for f in findings],
                }
            )
        )
        return
    out_console.print(f"{name}: {state.message}")
    out_console.print(
        f"  image     {image}\n  revision  {revision(deployment)}\n"
        f"  replicas  {state.available}/{state.desired} available"
    )
    if findings:
        out_console.print(explain(findings))

