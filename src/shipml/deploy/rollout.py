"""Reading Deployment status: rollout progress (as ``kubectl rollout status``), rollback targets."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shipml.errors import DeployError

REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True, kw_only=True)
class RolloutState:
    """Where a Deployment's rollout stands; ``failed`` means its progress deadline passed."""

    desired: int
    updated: int
    available: int
    done: bool
    failed: bool
    message: str


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in status.get("conditions") or () if c.get("type") == kind), None)


def rollout_state(deployment: Mapping[str, Any]) -> RolloutState:
    """The rollout state of a Deployment object, by the rules of kubectl's status viewer."""
    name = deployment["metadata"]["name"]
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    desired = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    available = int(status.get("availableReplicas", 0))
    total = int(status.get("replicas", 0))

    def state(message: str, *, done: bool = False, failed: bool = False) -> RolloutState:
        return RolloutState(desired=desired, updated=updated, available=available, done=done,
                            failed=failed, message=message)

    generation = deployment["metadata"].get("generation", 0)
    if generation > status.get("observedGeneration", 0):
        return state(f"waiting for deployment {name!r} spec update to be observed")
    progressing = _condition(status, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return state(f"deployment {name!r} exceeded its progress deadline", failed=True)
    if updated < desired:
        return state(f"{updated} of {desired} new replicas updated")
    if total > updated:
        return state(f"{total - updated} old replicas pending termination")
    if available < updated:
        return state(f"{available} of {updated} updated replicas available")
    return state(f"deployment {name!r} successfully rolled out", done=True)


def follow(
    deployments: Iterable[Mapping[str, Any]], *, on_progress: Callable[[RolloutState], None]
) -> RolloutState | None:
    """Track successive versions of a Deployment until done or failed; None if the stream ends."""
    for deployment in deployments:
        current = rollout_state(deployment)
        on_progress(current)
        if current.done or current.failed:
            return current
    return None


@dataclass(frozen=True, kw_only=True)
class RollbackTarget:
    """A revision to return to and the pod template it ran."""

    revision: int
    template: dict[str, Any]


def revision(obj: Mapping[str, Any]) -> int:
    """The ``deployment.kubernetes.io/revision`` of a Deployment or ReplicaSet, 0 when absent."""
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, 0))


def rollback_target(
    deployment: Mapping[str, Any],
    replicasets: Iterable[Mapping[str, Any]],
    *,
    to_revision: int | None = None,
) -> RollbackTarget:
    """The ReplicaSet template to restore: ``to_revision``, else the one before the current."""
    uid = deployment["metadata"].get("uid")
    owned = {
        revision(rs): rs for rs in replicasets
        if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or ())
    }
    current = revision(deployment)
    name = deployment["metadata"]["name"]
    if to_revision is None:
        earlier = [r for r in owned if r < current]
        if not earlier:
            raise DeployError(f"deployment {name!r} has no revision before {current} to go back to")
        to_revision = max(earlier)
    if to_revision not in owned:
        known = ", ".join(str(r) for r in sorted(owned)) or "none"
        raise DeployError(f"deployment {name!r} has no revision {to_revision} (kept: {known})")
    template = dict(owned[to_revision]["spec"]["template"])
    meta = dict(template.get("metadata") or {})
    # The ReplicaSet controller adds pod-template-hash; the Deployment's template must not carry it.
    labels = meta.get("labels") or {}
    meta["labels"] = {k: v for k, v in labels.items() if k != "pod-template-hash"}
    template["metadata"] = meta
    return RollbackTarget(revision=to_revision, template=template)
