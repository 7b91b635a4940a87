"""The Knative Service: concurrency target, scale to zero, and a pod Knative accepts."""

from __future__ import annotations

from typing import Any

from kube_schema import check_golden, validate_pod_template

from shipml.deploy.knative import knative_service
from shipml.oci.reference import parse_reference
from shipml.spec import Spec, parse_spec

REF = parse_reference("registry.example.com/team/iris@sha256:" + "ab" * 32)
# Knative Serving's container allowlist without feature flags (no lifecycle, no ports by name).
KNATIVE_CONTAINER_FIELDS = {"name", "image", "imagePullPolicy", "ports", "env", "resources",
                            "startupProbe", "readinessProbe", "livenessProbe",
                            "securityContext", "volumeMounts", "args", "command", "workingDir"}


def make_spec(**over: Any) -> Spec:
    return parse_spec({"name": "iris", "version": "1.2.0", "model": {"path": "m.joblib"}, **over})


def test_golden_and_pod_template_validates() -> None:
    svc = knative_service(make_spec(deploy={"namespace": "ml", "image_pull_secret": "regcred"}),
                          REF)
    check_golden("knative", svc)
    assert (svc["apiVersion"], svc["kind"]) == ("serving.knative.dev/v1", "Service")
    pod = svc["spec"]["template"]["spec"]
    validate_pod_template({"metadata": svc["spec"]["template"]["metadata"], "spec": {
        k: v for k, v in pod.items() if k != "timeoutSeconds"}})


def test_scales_to_zero_on_a_concurrency_target() -> None:
    annotations = knative_service(make_spec(scaling={"metric": "inflight", "target": 4,
                                                     "max_replicas": 20}), REF)[
        "spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/metric"] == "concurrency"
    assert annotations["autoscaling.knative.dev/target"] == "4"
    assert annotations["autoscaling.knative.dev/min-scale"] == "0"
    assert annotations["autoscaling.knative.dev/max-scale"] == "20"
    cpu_spec = make_spec(serve={"batching": {"max_batch_size": 32}})
    cpu = knative_service(cpu_spec, REF)["spec"]["template"]["metadata"]["annotations"]
    assert cpu["autoscaling.knative.dev/target"] == "32"  # one full batch per pod


def test_container_uses_only_what_knative_accepts() -> None:
    pod = knative_service(make_spec(serve={"port": 9000, "request_timeout_s": 12.5}), REF)[
        "spec"]["template"]["spec"]
    [server] = pod["containers"]
    assert set(server) <= KNATIVE_CONTAINER_FIELDS
    assert server["ports"] == [{"name": "http1", "containerPort": 9000, "protocol": "TCP"}]
    assert server["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 9000}
    assert server["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["timeoutSeconds"] == 13
    assert server["image"] == REF.name + "@" + str(REF.digest)
