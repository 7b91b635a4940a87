"""Rollout progress and rollback targets, from Deployment and ReplicaSet objects as served."""

from __future__ import annotations

from typing import Any

import pytest

from shipml.deploy.rollout import RolloutState, follow, rollback_target, rollout_state
from shipml.errors import DeployError


def deployment(*, generation: int = 2, observed: int = 2, replicas: int = 3, status: dict[
        str, Any] | None = None, revision: str = "3") -> dict[str, Any]:
    """A Deployment as GET /apis/apps/v1/namespaces/ml/deployments/iris returns it."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "iris", "namespace": "ml", "uid": "d-uid", "generation": generation,
                     "resourceVersion": "4711", "annotations": {
                         "deployment.kubernetes.io/revision": revision}},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, **(status or {})},
    }


PROGRESSING = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
               "message": 'ReplicaSet "iris-7c9f" is progressing.',
               "lastUpdateTime": "2026-11-27T09:00:00Z",
               "lastTransitionTime": "2026-11-27T09:00:00Z"}


def test_spec_change_not_yet_observed() -> None:
    state = rollout_state(deployment(generation=3, observed=2))
    assert not state.done and "spec update to be observed" in state.message


def test_updating_replicas() -> None:
    state = rollout_state(deployment(status={
        "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [PROGRESSING]}))
    assert (state.done, state.desired, state.updated) == (False, 3, 1)
    assert state.message == "1 of 3 new replicas updated"


def test_old_replicas_terminating() -> None:
    state = rollout_state(deployment(status={
        "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3, "conditions": [PROGRESSING]}))
    assert state.message == "1 old replicas pending termination"


def test_waiting_for_availability() -> None:
    state = rollout_state(deployment(status={
        "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1,
        "unavailableReplicas": 2, "conditions": [PROGRESSING]}))
    assert state.message == "1 of 3 updated replicas available" and not state.done


def test_complete() -> None:
    state = rollout_state(deployment(status={
        "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [{**PROGRESSING, "reason": "NewReplicaSetAvailable"},
                       {"type": "Available", "status": "True",
                        "reason": "MinimumReplicasAvailable"}]}))
    assert state.done and not state.failed


def test_progress_deadline_exceeded_fails() -> None:
    state = rollout_state(deployment(status={
        "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3, "conditions": [
            {**PROGRESSING, "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": 'ReplicaSet "iris-7c9f" has timed out progressing.'}]}))
    assert state.failed and not state.done


def test_follow_reports_progress_until_done() -> None:
    stream = [
        deployment(generation=3, observed=2),
        deployment(generation=3, observed=3, status={"replicas": 4, "updatedReplicas": 1,
                                                     "availableReplicas": 3}),
        deployment(generation=3, observed=3, status={"replicas": 3, "updatedReplicas": 3,
                                                     "availableReplicas": 3}),
        deployment(generation=4, observed=3),  # never read: the rollout was already done
    ]
    seen: list[RolloutState] = []
    final = follow(stream, on_progress=seen.append)
    assert final is not None and final.done
    assert len(seen) == 3


def test_follow_returns_none_when_the_watch_times_out() -> None:
    assert follow([deployment(generation=3, observed=2)], on_progress=lambda s: None) is None


def replicaset(revision: int, image: str, *, owner: str = "d-uid") -> dict[str, Any]:
    """A ReplicaSet the Deployment controller made, with its pod-template-hash label."""
    labels = {"app.kubernetes.io/name": "iris", "pod-template-hash": f"h{revision}"}
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"iris-h{revision}", "labels": labels,
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": "iris", "uid": owner, "controller": True}]},
        "spec": {"replicas": 0, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "server", "image": image}]}}},
    }


SETS = [replicaset(1, "r@sha256:1"), replicaset(2, "r@sha256:2"), replicaset(3, "r@sha256:3"),
        replicaset(9, "other@sha256:9", owner="someone-else")]


def test_rollback_goes_to_the_previous_revision_without_the_hash_label() -> None:
    target = rollback_target(deployment(revision="3"), SETS)
    assert target.revision == 2
    assert target.template["spec"]["containers"][0]["image"] == "r@sha256:2"
    assert target.template["metadata"]["labels"] == {"app.kubernetes.io/name": "iris"}
    assert "pod-template-hash" in SETS[1]["metadata"]["labels"]  # inputs are not mutated


def test_rollback_to_a_chosen_revision() -> None:
    assert rollback_target(deployment(), SETS, to_revision=1).revision == 1
    with pytest.raises(DeployError, match=r"no revision 9 \(kept: 1, 2, 3\)"):
        rollback_target(deployment(), SETS, to_revision=9)


def test_rollback_needs_an_earlier_revision() -> None:
    with pytest.raises(DeployError, match="no revision before 1"):
        rollback_target(deployment(revision="1"), SETS[:1])
