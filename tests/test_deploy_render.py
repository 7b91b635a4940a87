"""Kubernetes objects rendered from a spec: every point a platform team checks, schema-valid."""

from __future__ import annotations

import base64
import json
from typing import Any

import kubernetes_validate
import pytest
from kube_schema import check_golden, validate_strict

from shipml.deploy import selectors
from shipml.deploy.render import PullSecret, render
from shipml.errors import DeployError
from shipml.oci.reference import parse_reference
from shipml.spec import Spec, parse_spec

DIGEST = "sha256:" + "ab" * 32
REF = parse_reference(f"registry.example.com/team/iris:1.0@{DIGEST}")


def make_spec(**over: Any) -> Spec:
    return parse_spec({"name": "iris", "version": "1.2.0", "model": {"path": "model.joblib"},
                       **over})


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = [o["kind"] for o in objects]
    assert len(kinds) == len(set(kinds))
    return {o["kind"]: o for o in objects}


def pod_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = by_kind(objects)["Deployment"]["spec"]["template"]["spec"]
    return spec


CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "gpu-inflight-ingress": {
        "resources": {"requests": {"cpu": 2, "memory": "4Gi"},
                      "limits": {"cpu": 4, "memory": "8Gi"}, "gpu": 1},
        "scaling": {"min_replicas": 2, "max_replicas": 10, "metric": "inflight", "target": 16},
        "serve": {"port": 9000, "request_timeout_s": 60},
        "deploy": {"namespace": "ml", "image_pull_secret": "regcred",
                   "ingress": {"host": "iris.example.com", "class_name": "nginx",
                               "tls_secret": "iris-tls"},
                   "node_selector": {"node.kubernetes.io/instance-type": "g5.xlarge"}},
    },
    "fixed-replicas": {"scaling": {"min_replicas": 2, "max_replicas": 2}},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_objects_match_golden_and_validate_strictly(case: str) -> None:
    objects = render(make_spec(**CASES[case]), REF)
    for obj in objects:
        validate_strict(obj)
    check_golden(f"render-{case}", objects)


def test_strict_validation_catches_an_unknown_field() -> None:
    deployment = by_kind(render(make_spec(), REF))["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessprobe"):
        validate_strict(deployment)


def test_image_is_pinned_by_digest_and_tags_are_refused() -> None:
    assert pod_of(render(make_spec(), REF))["containers"][0]["image"] == (
        f"registry.example.com/team/iris@{DIGEST}")
    with pytest.raises(DeployError, match="mutable tag") as err:
        render(make_spec(), parse_reference("registry.example.com/team/iris:1.0"))
    assert "sha256" in str(err.value)


def test_deployment_rolls_out_without_downtime() -> None:
    objects = render(make_spec(), REF)
    strategy = by_kind(objects)["Deployment"]["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    pod = pod_of(objects)
    server = pod["containers"][0]
    assert server["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}
    # preStop pause + the longest request (serve.request_timeout_s, 30 by default) + margin
    assert pod["terminationGracePeriodSeconds"] == 40


def test_probes_hit_the_server_health_routes_on_its_port() -> None:
    server = pod_of(render(make_spec(serve={"port": 9000}), REF))["containers"][0]
    assert server["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert server["env"] == [{"name": "SHIPML_PORT", "value": "9000"}]
    paths = {p: server[p]["httpGet"] for p in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert paths == {"startupProbe": {"path": "/v2/health/ready", "port": 9000},
                     "readinessProbe": {"path": "/v2/health/ready", "port": 9000},
                     "livenessProbe": {"path": "/v2/health/live", "port": 9000}}


def test_pod_is_locked_down_with_a_writable_tmp_only() -> None:
    pod = pod_of(render(make_spec(), REF))
    sc = pod["containers"][0]["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["containers"][0]["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]


def test_resources_and_gpu() -> None:
    plain = pod_of(render(make_spec(), REF))
    assert plain["containers"][0]["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
    assert "tolerations" not in plain
    gpu = pod_of(render(make_spec(resources={"gpu": 2}), REF))
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert gpu["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_spread_scrape_annotations_and_labels() -> None:
    objects = render(make_spec(), REF)
    template = by_kind(objects)["Deployment"]["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics"}
    keys = [c["topologyKey"] for c in template["spec"]["topologySpreadConstraints"]]
    assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    for obj in objects:
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/name": "iris", "app.kubernetes.io/instance": "iris",
            "app.kubernetes.io/version": "1.2.0", "app.kubernetes.io/component": "predictor",
            "app.kubernetes.io/managed-by": "shipml"}


def test_service_selects_the_pods() -> None:
    kinds = by_kind(render(make_spec(), REF))
    svc = kinds["Service"]["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["selector"] == kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert svc["selector"].items() <= kinds["Deployment"]["spec"]["template"]["metadata"][
        "labels"].items()
    assert svc["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == svc["selector"]


def test_cluster_verbs_select_what_deploy_renders() -> None:
    secret = PullSecret(name="iris-pull", registry="r.example.com", username="u", password="p")
    objects = render(make_spec(), REF, pull_secret=secret)
    for obj in objects:  # delete
        assert selectors.managed("iris").items() <= obj["metadata"]["labels"].items()
    pod_labels = by_kind(objects)["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert selectors.pods("iris").items() <= pod_labels.items()  # status
    assert selectors.instance("iris").items() <= pod_labels.items()  # rollback's ReplicaSets
    assert selectors.query(selectors.managed("iris")) == (
        "app.kubernetes.io/instance=iris,app.kubernetes.io/managed-by=shipml")


def test_hpa_on_cpu_by_default_leaving_replicas_to_it() -> None:
    kinds = by_kind(render(make_spec(), REF))
    assert "replicas" not in kinds["Deployment"]["spec"]
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 3)
    assert hpa["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]


def test_hpa_on_inflight_requests_per_pod() -> None:
    spec = make_spec(scaling={"metric": "inflight", "target": 12})
    hpa = by_kind(render(spec, REF))["HorizontalPodAutoscaler"]["spec"]
    assert hpa["metrics"] == [{"type": "Pods", "pods": {
        "metric": {"name": "shipml_inflight_requests"},
        "target": {"type": "AverageValue", "averageValue": "12"}}}]


def test_fixed_replicas_need_no_hpa_and_zero_needs_knative() -> None:
    kinds = by_kind(render(make_spec(scaling={"min_replicas": 2, "max_replicas": 2}), REF))
    assert kinds["Deployment"]["spec"]["replicas"] == 2
    assert "HorizontalPodAutoscaler" not in kinds
    with pytest.raises(DeployError, match="min_replicas is 0") as err:
        render(make_spec(scaling={"min_replicas": 0, "max_replicas": 2}), REF)
    assert "knative" in str(err.value)


def test_ingress_is_optional() -> None:
    assert "Ingress" not in by_kind(render(make_spec(), REF))
    spec = make_spec(deploy={"ingress": {"host": "iris.example.com", "path": "/iris"}})
    ing = by_kind(render(spec, REF))["Ingress"]
    assert ing["spec"] == {"rules": [{"host": "iris.example.com", "http": {"paths": [
        {"path": "/iris", "pathType": "Prefix",
         "backend": {"service": {"name": "iris", "port": {"name": "http"}}}}]}}]}


def test_namespace_from_the_option_then_the_spec() -> None:
    spec = make_spec(deploy={"namespace": "ml"})
    assert {o["metadata"]["namespace"] for o in render(spec, REF)} == {"ml"}
    assert {o["metadata"]["namespace"] for o in render(spec, REF, namespace="prod")} == {"prod"}
    assert all("namespace" not in o["metadata"] for o in render(make_spec(), REF))


def test_pull_secret_by_name_or_created_from_credentials() -> None:
    named = pod_of(render(make_spec(deploy={"image_pull_secret": "regcred"}), REF))
    assert named["imagePullSecrets"] == [{"name": "regcred"}]
    assert "imagePullSecrets" not in pod_of(render(make_spec(), REF))

    secret = PullSecret(name="iris-pull", registry="registry.example.com", username="bot",
                        password="s3cret")
    objects = render(make_spec(), REF, pull_secret=secret)
    assert objects[0]["kind"] == "Secret"  # applied before the pods that need it
    validate_strict(objects[0])
    assert objects[0]["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(objects[0]["data"][".dockerconfigjson"]))
    assert config == {"auths": {"registry.example.com": {
        "auth": base64.b64encode(b"bot:s3cret").decode()}}}
    assert pod_of(objects)["imagePullSecrets"] == [{"name": "iris-pull"}]
