"""The apply layer's own logic: outcomes of server-side apply and the API's errors in our words."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from shipml.deploy.kubernetes import api_error, outcome


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
