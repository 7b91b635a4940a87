"""A Knative Service for the spec: request-driven autoscaling on a concurrency target, to zero."""

from __future__ import annotations

import math
from typing import Any

from shipml.deploy import render
from shipml.oci.reference import Reference
from shipml.spec import Spec

# Fields Knative Serving accepts on a container without feature flags (its PodSpec allowlist):
# no lifecycle hooks, since the queue-proxy sidecar drains requests itself.
_ALLOWED = ("name", "image", "imagePullPolicy", "ports", "env", "resources", "startupProbe",
            "readinessProbe", "livenessProbe", "securityContext", "volumeMounts")


def serverless_container(
    spec: Spec, image: str, *, name: str, port_name: str | None
) -> dict[str, Any]:
    """The server container as Knative-based platforms take it: allowed fields, one port."""
    base = render.container(spec, image)
    ports: dict[str, Any] = {"containerPort": spec.serve.port, "protocol": "TCP"}
    if port_name is not None:
        ports = {"name": port_name, **ports}
    return {**{k: base[k] for k in _ALLOWED if k in base}, "name": name, "ports": [ports]}


def serverless_pod(spec: Spec, container: dict[str, Any]) -> dict[str, Any]:
    """Pod fields shared by Knative and KServe: the container, /tmp, pull secret, placement."""
    pod: dict[str, Any] = {"containers": [container], "volumes": [{"name": "tmp", "emptyDir": {}}],
                           "enableServiceLinks": False}
    if spec.deploy.image_pull_secret is not None:
        pod["imagePullSecrets"] = [{"name": spec.deploy.image_pull_secret}]
    # Both need Knative's kubernetes.podspec-nodeselector / -tolerations flags when set.
    if spec.deploy.node_selector:
        pod["nodeSelector"] = dict(spec.deploy.node_selector)
    if tolerations := render.tolerations(spec):
        pod["tolerations"] = tolerations
    return pod


def concurrency_target(spec: Spec) -> int:
    """In-flight requests per pod to aim for: the spec's target, else one full batch per pod."""
    if spec.scaling.metric == "inflight":
        return spec.scaling.target
    return spec.serve.batching.max_batch_size


def knative_service(spec: Spec, ref: Reference, *, namespace: str | None = None) -> render.Manifest:
    """A serving.knative.dev/v1 Service that scales from zero to ``scaling.max_replicas``."""
    image = render.pinned_image(ref)
    annotations = {
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/metric": "concurrency",
        "autoscaling.knative.dev/target": str(concurrency_target(spec)),
        "autoscaling.knative.dev/min-scale": "0",
        "autoscaling.knative.dev/max-scale": str(spec.scaling.max_replicas),
        **render.pod_annotations(spec),
    }
    container = serverless_container(spec, image, name=render.CONTAINER, port_name="http1")
    pod = {**serverless_pod(spec, container),
           "timeoutSeconds": math.ceil(spec.serve.request_timeout_s)}
    return {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": render.metadata(spec, namespace=render.target_namespace(spec, namespace)),
        "spec": {"template": {"metadata": {"labels": render.labels(spec),
                                           "annotations": annotations}, "spec": pod}},
    }
