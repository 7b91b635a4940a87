"""Strict validation on the official Kubernetes OpenAPI schemas that kubernetes-validate bundles."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import kubernetes_validate

# Three or more minor versions a cluster may run today; unknown fields fail (strict schemas).
VERSIONS = ("1.33", "1.34", "1.35", "1.36", "1.37")
GOLDEN = Path(__file__).parent / "golden" / "deploy"


def validate_strict(obj: dict[str, Any]) -> None:
    """Raise kubernetes_validate.ValidationError when ``obj`` breaks any version's schema."""
    for version in VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


def validate_pod_template(template: dict[str, Any]) -> None:
    """Validate an embedded pod template (a CRD's) as the core/v1 Pod it becomes."""
    validate_strict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, **template})


def check_golden(name: str, data: Any) -> None:
    """Compare with tests/golden/deploy/NAME.json; SHIPML_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if os.environ.get("SHIPML_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} is missing; SHIPML_UPDATE_GOLDEN=1 writes it"
    assert json.loads(path.read_text()) == data, f"{path} differs; SHIPML_UPDATE_GOLDEN=1 to accept"
