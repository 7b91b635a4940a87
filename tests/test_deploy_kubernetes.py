"""The apply layer's own logic: outcomes of server-side apply and the API's errors in our words."""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException

from shipml.deploy.kubernetes import api_error, needs_replica_handover, outcome, replica_handover


def obj(resource_version: str) -> dict[str, object]:
    return {"metadata": {"name": "iris", "resourceVersion": resource_version}}


def test_outcome_of_an_apply() -> None:
    assert outcome(None, obj("7")) == "created"
    assert outcome(obj("7"), obj("7")) == "unchanged"  # server-side apply of the same fields
    assert outcome(obj("7"), obj("9")) == "configured"


def status_error(code: int, reason: str, message: str) -> ApiException:
    """An ApiException carrying a metav1.Status body, as the API server sends it."""
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return ApiException(status=code, reason=reason, body=json.dumps(body))


def testapi_errors_keep_the_server_message_and_say_what_to_do() -> None:
    forbidden = api_error(status_error(
        403, "Forbidden", 'deployments.apps "iris" is forbidden: User "dev" cannot patch '
        'resource "deployments" in API group "apps" in the namespace "ml"'),
        "applying Deployment iris")
    assert str(forbidden).startswith("applying Deployment iris: 403 deployments.apps")
    assert forbidden.hint is not None and "RBAC" in forbidden.hint
    conflict = api_error(status_error(409, "Conflict", "Apply failed with 1 conflict"), "x")
    assert conflict.hint is not None and "field manager" in conflict.hint
    invalid = api_error(status_error(
        422, "Invalid", 'Deployment.apps "iris" is invalid: spec.template.spec.containers[0]'
        '.image: Required value'), "applying Deployment iris")
    assert "Required value" in str(invalid) and invalid.hint is None
    html = ApiException(502, "Bad Gateway", body="<html>")
    assert "502 Bad Gateway" in str(api_error(html, "x"))


def live_deployment(owned_by_shipml: set[str]) -> dict[str, Any]:
    """A Deployment as read back from the API, with the managedFields of two managers."""
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "iris", "namespace": "ml", "managedFields": [
                {"manager": "shipml", "operation": "Apply", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {f"f:{f}": {} for f in owned_by_shipml}}},
                {"manager": "kube-controller-manager", "operation": "Update",
                 "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "subresource": "status",
                 "fieldsV1": {"f:status": {"f:replicas": {}}}}]},
            "spec": {"replicas": 4}}


def test_replicas_are_handed_over_when_an_autoscaler_takes_them() -> None:
    autoscaled = {"kind": "Deployment", "spec": {"selector": {}}}
    fixed = {"kind": "Deployment", "spec": {"replicas": 2}}
    was_fixed = live_deployment({"replicas", "selector"})
    assert needs_replica_handover(was_fixed, autoscaled)
    assert not needs_replica_handover(was_fixed, fixed)
    assert not needs_replica_handover(live_deployment({"selector"}), autoscaled)
    assert replica_handover(was_fixed) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "iris", "namespace": "ml"}, "spec": {"replicas": 4}}
