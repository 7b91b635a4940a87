"""Why a rollout is stuck, read from Pod, Event and Deployment objects as the API serves them."""

from __future__ import annotations

from typing import Any

from shipml.deploy.diagnosis import Finding, diagnose, explain

IMAGE = "registry.example.com/team/iris@sha256:" + "ab" * 32


def pod(name: str, *, phase: str = "Running", conditions: list[dict[str, Any]] | None = None,
        container: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Pod as GET /api/v1/namespaces/ml/pods returns it."""
    status: dict[str, Any] = {"phase": phase, "qosClass": "Burstable",
                              "conditions": conditions or []}
    if container is not None:
        status["containerStatuses"] = [{"name": "server", "image": IMAGE, "imageID": "",
                                        "started": False, "ready": False, "restartCount": 0,
                                        "lastState": {}, **container}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ml",
                         "labels": {"app.kubernetes.io/name": "iris"}},
            "spec": {"containers": [{"name": "server", "image": IMAGE}]}, "status": status}


def event(pod_name: str, reason: str, message: str) -> dict[str, Any]:
    """A core/v1 Event the kubelet recorded about a pod's container."""
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{pod_name}.1870a", "namespace": "ml"},
            "involvedObject": {"kind": "Pod", "namespace": "ml", "name": pod_name,
                               "apiVersion": "v1", "fieldPath": "spec.containers{server}"},
            "reason": reason, "message": message, "type": "Warning", "count": 7,
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2026-11-27T09:00:00Z", "lastTimestamp": "2026-11-27T09:03:00Z"}


def no_logs(pod: str, container: str) -> list[str]:
    raise AssertionError("logs are only read for crashed containers")


def test_image_pull_errors() -> None:
    stuck = pod("iris-1", phase="Pending", container={"state": {"waiting": {
        "reason": "ImagePullBackOff",
        "message": f'Back-off pulling image "{IMAGE}": 401 Unauthorized'}}})
    [finding] = diagnose(None, [stuck], [], logs=no_logs)
    assert finding.kind == "image pull" and "401 Unauthorized" in finding.message
    assert "deploy.image_pull_secret" in explain([finding])


def test_crash_loop_with_the_last_log_lines() -> None:
    crashing = pod("iris-2", container={
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff",
                              "message": "back-off 1m20s restarting failed container=server"}},
        "lastState": {"terminated": {"exitCode": 3, "reason": "Error",
                                     "startedAt": "2026-11-27T09:01:00Z",
                                     "finishedAt": "2026-11-27T09:01:02Z"}}})
    asked: list[tuple[str, str]] = []

    def logs(pod_name: str, container: str) -> list[str]:
        asked.append((pod_name, container))
        return ["loading model.joblib", "ModelError: cannot unpickle model.joblib"]

    [finding] = diagnose(None, [crashing], [], logs=logs)
    assert asked == [("iris-2", "server")]
    assert finding.kind == "crash loop"
    assert finding.message == "container 'server' exited with code 3 (Error), 4 restarts"
    text = explain([finding])
    assert "    | ModelError: cannot unpickle model.joblib" in text


def test_out_of_memory_says_which_limit_to_raise() -> None:
    oom = pod("iris-3", container={"restartCount": 2, "state": {"running": {}}, "lastState": {
        "terminated": {"exitCode": 137, "reason": "OOMKilled"}}})
    [finding] = diagnose(None, [oom], [], logs=no_logs)
    assert finding.kind == "out of memory"
    assert "resources.limits.memory" in explain([finding])


def test_unschedulable_pods() -> None:
    pending = pod("iris-4", phase="Pending", conditions=[{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}])
    [finding] = diagnose(None, [pending], [], logs=no_logs)
    assert finding.kind == "unschedulable" and "Insufficient nvidia.com/gpu" in finding.message


def test_failing_probes_from_events_latest_first() -> None:
    running = pod("iris-5", conditions=[{"type": "Ready", "status": "False",
                                         "reason": "ContainersNotReady"}],
                  container={"started": True, "state": {"running": {
                      "startedAt": "2026-11-27T09:00:00Z"}}})
    events = [
        event("iris-5", "Pulled", "Container image already present on machine"),
        event("iris-5", "Unhealthy", "Startup probe failed: connection refused"),
        event("iris-5", "Unhealthy", "Readiness probe failed: HTTP probe failed with "
                                     "statuscode: 503"),
        event("other", "Unhealthy", "Liveness probe failed"),
    ]
    [finding] = diagnose(None, [running], events, logs=no_logs)
    assert finding == Finding(pod="iris-5", kind="probe failing", message=(
        "Readiness probe failed: HTTP probe failed with statuscode: 503"))


def test_missing_secret_and_replica_failure() -> None:
    config = pod("iris-6", phase="Pending", container={"state": {"waiting": {
        "reason": "CreateContainerConfigError", "message": 'secret "regcred" not found'}}})
    deployment = {"metadata": {"name": "iris"}, "status": {"conditions": [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": 'pods "iris-7c9f-x" is forbidden: violates PodSecurity "restricted"'}]}}
    findings = diagnose(deployment, [config], [], logs=no_logs)
    assert [f.kind for f in findings] == ["replica failure", "container config"]


def test_healthy_pods_give_no_findings() -> None:
    ready = pod("iris-7", conditions=[{"type": "Ready", "status": "True"}], container={
        "ready": True, "started": True, "state": {"running": {}}})
    starting = pod("iris-8", phase="Pending", container={"state": {"waiting": {
        "reason": "ContainerCreating"}}})
    assert diagnose(None, [ready, starting], [], logs=no_logs) == []
