"""Spec + digest-pinned image reference -> the Kubernetes objects that run it, as plain dicts."""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from shipml.deploy import selectors
from shipml.errors import DeployError
from shipml.oci.reference import Reference
from shipml.spec import Spec

Manifest = dict[str, Any]

CONTAINER = "server"
PORT_NAME = "http"
SERVICE_PORT = 80
READY_PATH = "/v2/health/ready"
LIVE_PATH = "/v2/health/live"
METRICS_PATH = "/metrics"
INFLIGHT_METRIC = "shipml_inflight_requests"
# Seconds the pod keeps serving after it is marked terminating: endpoints controllers and kube-proxy
# (or the ingress) need a moment to stop routing to it before the server starts draining.
PRESTOP_SLEEP_S = 5
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, kw_only=True)
class PullSecret:
    """An image pull secret by ``name``; with registry, username and password it is created."""

    name: str
    registry: str | None = None
    username: str | None = None
    password: str | None = None


def pinned_image(ref: Reference) -> str:
    """The image as ``registry/repo@sha256:...`` (a tag is dropped); a tag alone is refused."""
    if ref.digest is None:
        raise DeployError(
            f"{ref} names a mutable tag; Kubernetes must run an immutable image",
            hint="pass the digest (repo@sha256:...) that 'shipml push' printed",
        )
    return f"{ref.name}@{ref.digest}"


def labels(spec: Spec) -> dict[str, str]:
    """The ``app.kubernetes.io/*`` labels every object carries."""
    version = _LABEL_VALUE.sub("_", spec.version)[:63].strip("-_.") or "unknown"
    return {**selector(spec), "app.kubernetes.io/version": version,
            "app.kubernetes.io/component": "predictor", selectors.MANAGED_BY: selectors.MANAGER}


def selector(spec: Spec) -> dict[str, str]:
    """The immutable subset of the labels that selects the pods."""
    return selectors.pods(spec.name)


def target_namespace(spec: Spec, namespace: str | None) -> str | None:
    """The namespace asked for (``-n``), else the spec's ``deploy.namespace``, else None."""
    return namespace if namespace is not None else spec.deploy.namespace


def metadata(spec: Spec, *, namespace: str | None) -> dict[str, Any]:
    """Object metadata: the spec's name, namespace when given, and the labels."""
    meta: dict[str, Any] = {"name": spec.name, "labels": labels(spec)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def resources(spec: Spec) -> dict[str, dict[str, str]]:
    """Container requests and limits; a GPU count becomes an ``nvidia.com/gpu`` limit."""
    res = spec.resources
    requests = {k: v for k, v in res.requests.model_dump().items() if v is not None}
    limits = {k: v for k, v in res.limits.model_dump().items() if v is not None}
    if res.gpu:
        limits["nvidia.com/gpu"] = str(res.gpu)
    out: dict[str, dict[str, str]] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def probes(port: int) -> dict[str, Any]:
    """Startup (slow model loads), readiness and liveness probes on the server's health routes."""

    # The port by number: Podman's kube play (and Knative) do not resolve named probe ports.
    def http(path: str, *, period: int, failures: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": port}, "periodSeconds": period,
                "timeoutSeconds": 2, "failureThreshold": failures}

    return {
        # Up to 5 minutes for the model to load before liveness takes over.
        "startupProbe": http(READY_PATH, period=2, failures=150),
        "readinessProbe": http(READY_PATH, period=5, failures=2),
        "livenessProbe": http(LIVE_PATH, period=10, failures=3),
    }


def container_security() -> dict[str, Any]:
    """Restricted Pod Security Standard for the container, plus a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container(spec: Spec, image: str) -> dict[str, Any]:
    """The one server container: image by digest, port, env, resources, probes, preStop pause."""
    port = spec.serve.port
    return {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": port, "protocol": "TCP"}],
        "env": [{"name": "SHIPML_PORT", "value": str(port)}],
        "resources": resources(spec),
        **probes(port),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_S}}},
        "securityContext": container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def grace_period_s(spec: Spec) -> int:
    """Room for the preStop pause, the longest request to finish, and a margin to exit."""
    return PRESTOP_SLEEP_S + math.ceil(spec.serve.request_timeout_s) + 5


def tolerations(spec: Spec) -> list[dict[str, str]]:
    """The spec's tolerations, plus the ``nvidia.com/gpu`` taint's when a GPU is asked for."""
    out = [t.model_dump(exclude_none=True) for t in spec.deploy.tolerations]
    if spec.resources.gpu and not any(t["key"] == "nvidia.com/gpu" for t in out):
        out.append({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
    return out


def spread(spec: Spec) -> list[dict[str, Any]]:
    """Spread replicas across nodes and zones, preferring but not requiring it."""
    return [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": selector(spec)}}
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]


def pod_spec(spec: Spec, image: str, *, pull_secret: str | None) -> dict[str, Any]:
    """The pod: one container, /tmp as emptyDir, non-root, spread, graceful termination."""
    pod: dict[str, Any] = {
        "containers": [container(spec, image)],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": grace_period_s(spec),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "topologySpreadConstraints": spread(spec),
    }
    if pull_secret is not None:
        pod["imagePullSecrets"] = [{"name": pull_secret}]
    if spec.deploy.node_selector:
        pod["nodeSelector"] = dict(spec.deploy.node_selector)
    if tols := tolerations(spec):
        pod["tolerations"] = tols
    return pod


def pod_annotations(spec: Spec) -> dict[str, str]:
    """Prometheus scrape annotations pointing at the server's /metrics."""
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(spec.serve.port),
            "prometheus.io/path": METRICS_PATH}


def autoscaled(spec: Spec) -> bool:
    """Whether an autoscaler owns the replica count (min and max differ)."""
    return spec.scaling.min_replicas < spec.scaling.max_replicas


def deployment(
    spec: Spec, image: str, *, namespace: str | None, pull_secret: str | None
) -> Manifest:
    """The Deployment: zero-downtime rolling updates; replicas left to the HPA when there is one."""
    body: dict[str, Any] = {
        "selector": {"matchLabels": selector(spec)},
        # maxUnavailable 0: a new pod must be ready before an old one goes (zero downtime).
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
        "template": {
            "metadata": {"labels": labels(spec), "annotations": pod_annotations(spec)},
            "spec": pod_spec(spec, image, pull_secret=pull_secret),
        },
    }
    if not autoscaled(spec):
        body = {"replicas": spec.scaling.min_replicas, **body}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": metadata(spec, namespace=namespace), "spec": body}


def service(spec: Spec, *, namespace: str | None) -> Manifest:
    """A ClusterIP Service balancing port 80 across the ready replicas."""
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": metadata(spec, namespace=namespace),
        "spec": {"type": "ClusterIP", "selector": selector(spec), "ports": [
            {"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}]},
    }


def hpa_metric(spec: Spec) -> dict[str, Any]:
    """CPU utilisation, or in-flight requests per pod (a Pods metric via a metrics adapter)."""
    target = spec.scaling.target
    if spec.scaling.metric == "cpu":
        return {"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}
    return {"type": "Pods", "pods": {
        "metric": {"name": INFLIGHT_METRIC},
        "target": {"type": "AverageValue", "averageValue": str(target)}}}


def hpa(spec: Spec, *, namespace: str | None) -> Manifest:
    """An autoscaling/v2 HorizontalPodAutoscaler on the Deployment."""
    if spec.scaling.min_replicas < 1:
        raise DeployError(
            "scaling.min_replicas is 0, but a HorizontalPodAutoscaler keeps at least 1 replica",
            hint="set scaling.min_replicas: 1, or deploy with -o knative to scale to zero",
        )
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(spec, namespace=namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": spec.scaling.min_replicas,
            "maxReplicas": spec.scaling.max_replicas,
            "metrics": [hpa_metric(spec)],
        },
    }


def pdb(spec: Spec, *, namespace: str | None) -> Manifest:
    """A PodDisruptionBudget: voluntary evictions (drains) take one pod at a time."""
    return {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": metadata(spec, namespace=namespace),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(spec)},
                 "unhealthyPodEvictionPolicy": "AlwaysAllow"},
    }


def ingress(spec: Spec, *, namespace: str | None) -> Manifest | None:
    """An Ingress for ``deploy.ingress``, or None when the spec asks for none."""
    ing = spec.deploy.ingress
    if ing is None:
        return None
    backend = {"service": {"name": spec.name, "port": {"name": PORT_NAME}}}
    body: dict[str, Any] = {"rules": [{"host": ing.host, "http": {"paths": [
        {"path": ing.path, "pathType": "Prefix", "backend": backend}]}}]}
    if ing.class_name is not None:
        body = {"ingressClassName": ing.class_name, **body}
    if ing.tls_secret is not None:
        body["tls"] = [{"hosts": [ing.host], "secretName": ing.tls_secret}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": metadata(spec, namespace=namespace), "spec": body}


def pull_secret_object(spec: Spec, secret: PullSecret, *, namespace: str | None) -> Manifest:
    """A ``kubernetes.io/dockerconfigjson`` Secret holding one registry's credentials."""
    if secret.registry is None or secret.username is None or secret.password is None:
        raise DeployError(f"pull secret {secret.name!r} needs a registry, username and password")
    token = base64.b64encode(f"{secret.username}:{secret.password}".encode()).decode()
    config = {"auths": {secret.registry: {"auth": token}}}
    data = base64.b64encode(json.dumps(config, separators=(",", ":")).encode()).decode()
    meta = {**metadata(spec, namespace=namespace), "name": secret.name}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta,
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": data}}


def render(
    spec: Spec,
    ref: Reference,
    *,
    namespace: str | None = None,
    pull_secret: PullSecret | None = None,
) -> list[Manifest]:
    """All objects for ``spec`` running ``ref``, in apply order; ``namespace`` beats the spec's."""
    image = pinned_image(ref)
    ns = target_namespace(spec, namespace)
    secret_name = pull_secret.name if pull_secret else spec.deploy.image_pull_secret
    objects: list[Manifest | None] = [
        pull_secret_object(spec, pull_secret, namespace=ns)
        if pull_secret is not None and pull_secret.password is not None else None,
        deployment(spec, image, namespace=ns, pull_secret=secret_name),
        service(spec, namespace=ns),
        pdb(spec, namespace=ns),
        hpa(spec, namespace=ns) if autoscaled(spec) else None,
        ingress(spec, namespace=ns),
    ]
    return [o for o in objects if o is not None]
