"""A KServe InferenceService whose predictor is the shipml image, speaking the V2 protocol."""

from __future__ import annotations

from shipml.deploy import render
from shipml.deploy.knative import serverless_container, serverless_pod
from shipml.oci.reference import Reference
from shipml.spec import Spec

# KServe's names: the predictor's main container, and the env var that declares a custom
# container's protocol (constants.CustomSpecProtocolEnvVarKey).
KSERVE_CONTAINER = "kserve-container"
PROTOCOL_ENV = "PROTOCOL"


def inference_service(
    spec: Spec, ref: Reference, *, namespace: str | None = None
) -> render.Manifest:
    """A serving.kserve.io/v1beta1 InferenceService with a custom predictor container."""
    base = serverless_container(spec, render.pinned_image(ref), name=KSERVE_CONTAINER,
                                port_name=None)
    container = {**base, "env": [{"name": PROTOCOL_ENV, "value": "v2"}, *base["env"]]}
    scaling = spec.scaling
    predictor = {
        "minReplicas": scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "scaleMetric": "cpu" if scaling.metric == "cpu" else "concurrency",
        "scaleTarget": scaling.target,
        **serverless_pod(spec, container),
    }
    ns = render.target_namespace(spec, namespace)
    meta = {**render.metadata(spec, namespace=ns), "annotations": render.pod_annotations(spec)}
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": meta, "spec": {"predictor": predictor}}
