"""The KServe InferenceService: a custom predictor container running the image over V2."""

from __future__ import annotations

from typing import Any

from kube_schema import check_golden, validate_pod_template

from shipml.deploy.kserve import inference_service
from shipml.oci.reference import parse_reference
from shipml.spec import Spec, parse_spec

REF = parse_reference("registry.example.com/team/iris@sha256:" + "ab" * 32)


def make_spec(**over: Any) -> Spec:
    return parse_spec({"name": "iris", "version": "1.2.0", "model": {"path": "m.joblib"}, **over})


def predictor(spec: Spec) -> dict[str, Any]:
    isvc = inference_service(spec, REF)
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    out: dict[str, Any] = isvc["spec"]["predictor"]
    return out


def test_golden_and_pod_part_validates() -> None:
    isvc = inference_service(make_spec(resources={"gpu": 1}), REF)
    check_golden("kserve", isvc)
    pod = {k: v for k, v in isvc["spec"]["predictor"].items()
           if k not in ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget")}
    validate_pod_template({"spec": pod})


def test_custom_container_declares_the_v2_protocol() -> None:
    [container] = predictor(make_spec())["containers"]
    assert container["name"] == "kserve-container"
    assert container["env"][0] == {"name": "PROTOCOL", "value": "v2"}
    assert container["image"] == REF.name + "@" + str(REF.digest)
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}


def test_scaling_follows_the_spec() -> None:
    cpu = predictor(make_spec(scaling={"min_replicas": 0, "max_replicas": 4}))
    assert (cpu["minReplicas"], cpu["maxReplicas"], cpu["scaleMetric"], cpu["scaleTarget"]) == (
        0, 4, "cpu", 70)
    inflight = predictor(make_spec(scaling={"metric": "inflight", "target": 8}))
    assert (inflight["scaleMetric"], inflight["scaleTarget"]) == ("concurrency", 8)
