"""Why pods are not ready: image pulls, crash loops, scheduling, probes, read from API objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_PULL_ERRORS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                          "ErrImageNeverPull", "RegistryUnavailable"})
_CONFIG_ERRORS = frozenset({"CreateContainerConfigError", "CreateContainerError",
                            "RunContainerError"})
_HINTS = {
    "image pull": "check that the cluster can reach the registry and, for a private registry, "
                  "set deploy.image_pull_secret in shipml.yaml",
    "crash loop": "the server exits at start: read the log lines above; "
                  "'shipml run REF' reproduces it locally",
    "out of memory": "raise resources.limits.memory in shipml.yaml",
    "unschedulable": "no node fits the pod: lower resources.requests, or add nodes, "
                     "tolerations or a node selector (deploy.*) that match",
    "probe failing": "the server answers its health probes with errors; check its logs",
    "container config": "a referenced Secret, ConfigMap or volume is missing or invalid",
    "replica failure": "the ReplicaSet cannot create pods (quota, admission policy)",
}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One reason an object is not ready, with the last log lines when it crashed."""

    pod: str
    kind: str
    message: str
    logs: tuple[str, ...] = ()


def _name(obj: Mapping[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def _unhealthy_events(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The latest probe failure message per pod name (events are listed oldest first)."""
    out: dict[str, str] = {}
    for event in events:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") == "Pod" and event.get("reason") == "Unhealthy":
            out[str(involved.get("name"))] = str(event.get("message", "")).strip()
    return out


def _container_findings(
    pod: str, status: Mapping[str, Any], logs: Callable[[str, str], Sequence[str]]
) -> list[Finding]:
    name = status.get("name", "?")
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    last = (status.get("lastState") or {}).get("terminated") or {}
    if reason in _PULL_ERRORS:
        return [Finding(pod=pod, kind="image pull",
                        message=f"{reason}: {waiting.get('message', '')}")]
    if reason in _CONFIG_ERRORS:
        return [Finding(pod=pod, kind="container config",
                        message=f"{reason}: {waiting.get('message', '')}")]
    if last.get("reason") == "OOMKilled":
        return [Finding(pod=pod, kind="out of memory", message=(
            f"container {name!r} was killed for exceeding its memory limit "
            f"({status.get('restartCount', 0)} restarts)"))]
    if reason == "CrashLoopBackOff" or last:
        code = last.get("exitCode", "?")
        message = (f"container {name!r} exited with code {code}"
                   f"{' (' + last['reason'] + ')' if last.get('reason') else ''}, "
                   f"{status.get('restartCount', 0)} restarts")
        return [Finding(pod=pod, kind="crash loop", message=message, logs=tuple(logs(pod, name)))]
    return []


def _pod_findings(
    pod: Mapping[str, Any], probe_failures: Mapping[str, str],
    logs: Callable[[str, str], Sequence[str]],
) -> list[Finding]:
    name = _name(pod)
    status = pod.get("status") or {}
    for cond in status.get("conditions") or ():
        if (cond.get("type") == "PodScheduled" and cond.get("status") == "False"
                and cond.get("reason") == "Unschedulable"):
            return [Finding(pod=name, kind="unschedulable", message=str(cond.get("message", "")))]
    findings: list[Finding] = []
    for cs in status.get("containerStatuses") or ():
        found = _container_findings(name, cs, logs)
        if not found and "running" in (cs.get("state") or {}) and not cs.get("ready"):
            message = probe_failures.get(name)
            if message is not None:
                found = [Finding(pod=name, kind="probe failing", message=message)]
        findings += found
    return findings


def diagnose(
    deployment: Mapping[str, Any] | None,
    pods: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    *,
    logs: Callable[[str, str], Sequence[str]],
) -> list[Finding]:
    """Every reason found why the Deployment's pods are not ready; ``logs(pod, container)``."""
    findings: list[Finding] = []
    if deployment is not None:
        for cond in (deployment.get("status") or {}).get("conditions") or ():
            if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
                findings.append(Finding(pod=_name(deployment), kind="replica failure",
                                        message=str(cond.get("message", ""))))
    probe_failures = _unhealthy_events(events)
    for pod in pods:
        findings += _pod_findings(pod, probe_failures, logs)
    return findings


def explain(findings: Sequence[Finding]) -> str:
    """The findings as lines a person reads: pod, kind, message, log tail and a hint per kind."""
    lines: list[str] = []
    for f in findings:
        lines.append(f"pod {f.pod}: {f.kind}: {f.message}")
        lines += [f"    | {line}" for line in f.logs]
    for kind in dict.fromkeys(f.kind for f in findings):
        lines.append(f"hint ({kind}): {_HINTS[kind]}")
    return "\n".join(lines)
