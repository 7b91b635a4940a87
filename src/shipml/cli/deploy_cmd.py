"""`shipml deploy REF`: render the spec's Kubernetes objects for an image, apply them, wait."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from functools import cache, partial
from pathlib import Path
from typing import Any

import click
import yaml

from shipml.cli.console import err_console, out_console
from shipml.cli.kube import (
    connect,
    context_option,
    namespace_option,
    timeout_option,
    wait_option,
    wait_with_progress,
)
from shipml.cli.params import EnumChoice
from shipml.deploy import helm, knative, kserve, render
from shipml.errors import DeployError, RegistryError
from shipml.oci.reference import Reference, parse_reference
from shipml.registry import credentials
from shipml.registry.client import RegistryClient
from shipml.registry.credentials import Credential
from shipml.spec import Spec, load_spec


class Output(StrEnum):
    """What to produce: the plain objects (printed as YAML or JSON), or another target."""

    yaml = "yaml"
    json = "json"
    kserve = "kserve"
    knative = "knative"
    helm = "helm"


def pinned(ref: Reference, credential: Callable[[], Credential | None]) -> Reference:
    """The reference itself when it has a digest; a tag is resolved to one at its registry."""
    if ref.digest is not None:
        return ref
    push_first = "a cluster pulls from a registry: 'shipml push IMAGE REGISTRY/REPO:TAG' first"
    try:
        with RegistryClient(ref.registry, credential=credential()) as registry:
            found = registry.manifest_descriptor(ref.repository, str(ref.tag))
    except RegistryError as e:
        raise DeployError(f"cannot resolve the tag of {ref} to a digest: {e.message}",
                          hint=e.hint or push_first) from e
    if found is None:
        raise DeployError(f"{ref} is not in its registry", hint=push_first)
    err_console.print(f"resolved {ref} to {found.digest}", soft_wrap=True, markup=False)
    return ref.with_digest(found.digest)


def pull_secret(
    spec: Spec, ref: Reference, credential: Callable[[], Credential | None]
) -> render.PullSecret | None:
    """A Secret from this machine's credentials for the image's registry, unless spec names one."""
    if spec.deploy.image_pull_secret is not None:
        return None
    found = credential()
    if found is None or not found.password:
        return None  # anonymous pulls, or only an OAuth refresh token the kubelet cannot use
    return render.PullSecret(
        name=f"{spec.name}-pull",
        registry=ref.registry,
        username=found.username,
        password=found.password,
    )


def _print(objects: list[dict[str, Any]], output: Output) -> None:
    if output is Output.json:
        out_console.print_json(
            json.dumps(
                objects[0]
                if len(objects) == 1
                else {"apiVersion": "v1", "kind": "List", "items": objects}
            )
        )
    else:
        out_console.out(yaml.safe_dump_all(objects, sort_keys=False), end="")


@click.command("deploy")
@click.argument("ref")
@click.argument("chart_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    help="Project with shipml.yaml.",
)
@click.option(
    "--output", "-o", type=EnumChoice(Output),
    help="yaml|json: print the objects; kserve|knative: that target; helm DIR: write a chart.",
)
@click.option("--dry-run", is_flag=True, help="Print the objects, apply nothing.")
@click.option("--force", is_flag=True, help="With -o helm: replace DIR.")
@context_option
@namespace_option
@wait_option
@timeout_option
def deploy(
    ref: str,
    chart_dir: Path | None,
    project: Path,
    output: Output | None,
    dry_run: bool,
    force: bool,
    context: str | None,
    namespace: str | None,
    wait: bool,
    timeout: int,
) -> None:
    """Apply the Deployment, Service, HPA, PDB (and Ingress); prints the service URL.

    REF is the image as repo@sha256:... (a tag is resolved to its digest at the registry);
    CHART_DIR, with -o helm only, is where the chart is written.
    """
    spec = load_spec(project)
    if (output is Output.helm) != (chart_dir is not None):
        raise DeployError(
            "a chart directory goes with -o helm, and only with it",
            hint="shipml deploy REF -o helm ./chart",
        )
    parsed = parse_reference(ref)
    # One lookup, made when first needed, serves both the tag's resolution and the pull secret:
    # it may read several auth files or spawn a credential helper.
    credential = cache(partial(credentials.lookup, parsed.registry, parsed.repository))
    image = pinned(parsed, credential)
    if output is Output.helm and chart_dir is not None:
        written = helm.write_chart(helm.chart_files(spec, image), chart_dir, force=force)
        out_console.print(str(written))
        return
    if output is Output.kserve:
        objects = [kserve.inference_service(spec, image, namespace=namespace)]
    elif output is Output.knative:
        objects = [knative.knative_service(spec, image, namespace=namespace)]
    else:
        objects = render.render(
            spec, image, namespace=namespace, pull_secret=pull_secret(spec, image, credential)
        )
    if dry_run:
        _print(objects, Output.json if output is Output.json else Output.yaml)
        return
    cluster = connect(context, namespace or spec.deploy.namespace)
    for applied in cluster.apply(objects):
        err_console.print(f"{applied.kind}/{applied.name} {applied.outcome}")
    if output in (Output.yaml, Output.json):
        _print([cluster.in_namespace(o) for o in objects], output)  # as applied
    if output in (Output.kserve, Output.knative):
        out_console.print(f"{objects[0]['kind']}/{spec.name}")  # the operator rolls it out
        return
    if wait:
        wait_with_progress(cluster, spec.name, timeout_s=timeout)
    if output is None:
        out_console.print(f"http://{spec.name}.{cluster.namespace}.svc:{render.SERVICE_PORT}")
        if (ing := spec.deploy.ingress) is not None:
            out_console.print(f"{'https' if ing.tls_secret else 'http'}://{ing.host}{ing.path}")

