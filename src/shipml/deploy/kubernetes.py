"""A thin layer over the official kubernetes client: server-side apply, watch, read, delete."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from shipml.deploy import selectors
from shipml.deploy.diagnosis import Finding, diagnose, explain
from shipml.deploy.rollout import RollbackTarget, RolloutState, follow, rollback_target
from shipml.errors import DeployError

FIELD_MANAGER = "shipml"
HANDOVER_MANAGER = "handover-to-hpa"
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
# The kinds `shipml deploy` creates, deleted in reverse dependency order by `shipml delete`.
KINDS: tuple[tuple[str, str], ...] = (
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("v1", "Secret"),
)
# The only events diagnosis.py reads, probe failures of pods, filtered by the API server.
_PROBE_EVENTS = "involvedObject.kind=Pod,reason=Unhealthy"
Outcome = Literal["created", "configured", "unchanged"]


@dataclass(frozen=True, kw_only=True)
class Applied:
    """One object after server-side apply, and whether the apply changed it."""

    kind: str
    name: str
    outcome: Outcome


def api_error(e: ApiException, doing: str) -> DeployError:
    """Translate an API error, keeping the server's own message (the Status object's)."""
    try:
        message = json.loads(e.body or "{}").get("message") or e.reason
    except ValueError:
        message = e.reason
    hint = {401: "your kubeconfig credentials were refused",
            403: "your user lacks RBAC permission for this", 409: "another field manager owns "
            "these fields; edit them with the tool that set them"}.get(int(e.status or 0))
    return DeployError(f"{doing}: {e.status} {message}", hint=hint)


def outcome(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> Outcome:
    """Created when it did not exist, unchanged when its resourceVersion did not move."""
    if before is None:
        return "created"
    same = before["metadata"].get("resourceVersion") == after["metadata"].get("resourceVersion")
    return "unchanged" if same else "configured"


def needs_replica_handover(live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether shipml owns ``spec.replicas`` of a live Deployment it now leaves to an HPA."""
    if live.get("kind") != "Deployment" or "replicas" in desired.get("spec", {}):
        return False
    return any(
        entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply"
        and "f:replicas" in (entry.get("fieldsV1") or {}).get("f:spec", {})
        for entry in live["metadata"].get("managedFields") or ()
    )


def replica_handover(live: Mapping[str, Any]) -> dict[str, Any]:
    """An apply of the current replica count by another manager, so dropping it keeps the count.

    Without it, server-side apply would remove the field shipml stops setting and the
    Deployment would fall back to 1 replica until the autoscaler reacts (the Kubernetes docs'
    "transferring ownership" recipe).
    """
    meta = live["metadata"]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace")},
            "spec": {"replicas": live["spec"].get("replicas", 1)}}


class Cluster:
    """One cluster via the official client; errors become DeployError with the server's words."""

    def __init__(self, api: client.ApiClient, *, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        self._dynamic: DynamicClient | None = None

    @classmethod
    def connect(cls, *, context: str | None = None, namespace: str | None = None) -> Cluster:
        """Load KUBECONFIG, ~/.kube/config or the in-cluster service account, in that order."""
        conf = client.Configuration()
        try:
            if os.environ.get("KUBECONFIG") or Path("~/.kube/config").expanduser().exists():
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    context=context, client_configuration=conf
                )
                contexts, active = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
                if context is not None:
                    active = next(c for c in contexts if c["name"] == context)
                default_ns = active["context"].get("namespace", "default")
            elif os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=conf
                )
                default_ns = _SA_NAMESPACE.read_text().strip()
            else:
                raise DeployError("no Kubernetes configuration found",
                                  hint="set KUBECONFIG or write ~/.kube/config")
        except (ConfigException, OSError, StopIteration) as e:
            raise DeployError(f"cannot load the Kubernetes configuration: {e}") from e
        return cls(client.ApiClient(conf), namespace=namespace or default_ns)

    def _call(self, doing: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ApiException as e:
            raise api_error(e, doing) from e
        except urllib3.exceptions.HTTPError as e:
            host = self.api.configuration.host
            raise DeployError(f"{doing}: cannot reach the cluster at {host}: {e}") from e

    def _resource(self, api_version: str, kind: str) -> Any:
        if self._dynamic is None:
            self._dynamic = self._call("discovering the API", DynamicClient, self.api)
        try:
            return self._call("discovering the API", self._dynamic.resources.get,
                              api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise DeployError(f"the cluster does not serve {kind} ({api_version})",
                              hint="install the operator that provides it") from None

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        """The object as a plain dict, or None when it does not exist."""
        res = self._resource(api_version, kind)
        try:
            found = res.get(name=name, namespace=self.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise api_error(e, f"reading {kind} {name}") from e
        return dict(found.to_dict())

    def in_namespace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``obj`` placed in this cluster's namespace, as ``apply`` sends it."""
        return {**obj, "metadata": {**obj["metadata"], "namespace": self.namespace}}

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> list[Applied]:
        """Server-side apply each object as field manager ``shipml``; a second run is a no-op."""
        done = []
        for obj in objects:
            kind, name = obj["kind"], obj["metadata"]["name"]
            body = self.in_namespace(obj)
            before = self.get(obj["apiVersion"], kind, name)
            res = self._resource(obj["apiVersion"], kind)
            if before is not None and needs_replica_handover(before, obj):
                self._call(f"handing the replicas of {name} to its autoscaler",
                           res.server_side_apply, body=replica_handover(before),
                           namespace=self.namespace, field_manager=HANDOVER_MANAGER)
            after = self._call(f"applying {kind} {name}", res.server_side_apply, body=body,
                               namespace=self.namespace, field_manager=FIELD_MANAGER,
                               force_conflicts=True)
            done.append(Applied(kind=kind, name=name, outcome=outcome(before, after.to_dict())))
        return done

    def watch_deployment(self, name: str, *, timeout_s: int) -> Iterator[dict[str, Any]]:
        """The Deployment now, then each change, until ``timeout_s`` passes."""
        res = self._resource("apps/v1", "Deployment")
        stream = self._call(f"watching Deployment {name}", res.watch, namespace=self.namespace,
                            name=name, timeout=timeout_s)
        try:
            for event in stream:
                if event["type"] in ("ADDED", "MODIFIED"):
                    yield dict(event["raw_object"])
        except ApiException as e:
            raise api_error(e, f"watching Deployment {name}") from e

    def wait_rollout(
        self, name: str, *, timeout_s: int, on_progress: Callable[[RolloutState], None]
    ) -> RolloutState:
        """Follow the rollout until it completes; a DeployError says why it did not."""
        final = follow(self.watch_deployment(name, timeout_s=timeout_s), on_progress=on_progress)
        if final is not None and final.done:
            return final
        why = final.message if final is not None else f"not ready after {timeout_s} s"
        findings = self.diagnose(name)
        raise DeployError(
            f"deployment {name!r} did not become ready: {why}"
            + ("\n" + explain(findings) if findings else ""),
            hint=f"'shipml status {name}' shows it again; 'shipml rollback {name}' goes back",
        )

    def pods(self, name: str) -> list[dict[str, Any]]:
        """The pods of the deployment called ``name``, by its selector labels."""
        res = self._resource("v1", "Pod")
        found = self._call(f"listing pods of {name}", res.get, namespace=self.namespace,
                           label_selector=selectors.query(selectors.pods(name)))
        return [dict(p) for p in found.to_dict().get("items", [])]

    def diagnose(
        self, name: str, *, deployment: Mapping[str, Any] | None = None
    ) -> list[Finding]:
        """Why the deployment's pods are not ready, with the last log lines of crashed ones;
        ``deployment`` is the Deployment when the caller has just read it."""
        if deployment is None:
            deployment = self.get("apps/v1", "Deployment", name)
        pods = self.pods(name)
        events = self._call(f"listing events of {name}", self._resource("v1", "Event").get,
                            namespace=self.namespace, field_selector=_PROBE_EVENTS
                            ).to_dict().get("items", [])
        return diagnose(deployment, pods, events, logs=self.last_logs)

    def last_logs(self, pod: str, container: str, *, lines: int = 20) -> list[str]:
        """The last lines the previous (crashed) run of a container wrote."""
        core = client.CoreV1Api(self.api)
        try:
            text = core.read_namespaced_pod_log(pod, self.namespace, container=container,
                                                previous=True, tail_lines=lines)
        except ApiException:
            return []  # no previous run, or logs already gone: the exit code still tells
        return str(text).splitlines()

    def rollback(self, name: str, *, to_revision: int | None = None) -> RollbackTarget:
        """Restore the pod template of an earlier revision, as ``kubectl rollout undo`` does."""
        deployment = self.get("apps/v1", "Deployment", name)
        if deployment is None:
            raise DeployError(f"no deployment {name!r} in namespace {self.namespace!r}")
        sets = self._call(f"listing ReplicaSets of {name}", self._resource("apps/v1", "ReplicaSet")
                          .get, namespace=self.namespace,
                          label_selector=selectors.query(selectors.instance(name)))
        target = rollback_target(deployment, sets.to_dict().get("items", []),
                                 to_revision=to_revision)
        patch = [{"op": "replace", "path": "/spec/template", "value": target.template}]
        self._call(f"rolling back {name}", self._resource("apps/v1", "Deployment").patch,
                   body=patch, name=name, namespace=self.namespace,
                   content_type="application/json-patch+json", field_manager=FIELD_MANAGER)
        return target

    def delete(self, name: str) -> list[str]:
        """Delete every object ``shipml deploy`` made for ``name``; returns ``Kind/name`` gone."""
        gone = []
        for api_version, kind in KINDS:
            res = self._resource(api_version, kind)
            found = self._call(f"listing {kind}", res.get, namespace=self.namespace,
                               label_selector=selectors.query(selectors.managed(name)))
            for item in found.to_dict().get("items", []):
                obj_name = item["metadata"]["name"]
                self._call(f"deleting {kind} {obj_name}", res.delete, name=obj_name,
                           namespace=self.namespace, propagation_policy="Foreground")
                gone.append(f"{kind}/{obj_name}")
        return gone
