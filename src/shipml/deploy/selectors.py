"""The ``app.kubernetes.io`` labels that find what shipml deployed, and their selector strings.

Kept apart from ``render.py`` so the cluster verbs (status, rollback, delete) query by the labels
render writes without importing the spec model.
"""

from __future__ import annotations

from collections.abc import Mapping

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "shipml"


def pods(name: str) -> dict[str, str]:
    """The immutable labels that select the pods of the deployment ``name``."""
    return {NAME: name, INSTANCE: name}


def instance(name: str) -> dict[str, str]:
    """The label every object of the deployment ``name`` carries, its ReplicaSets' included."""
    return {INSTANCE: name}


def managed(name: str) -> dict[str, str]:
    """The labels of the objects ``shipml deploy`` made for ``name``."""
    return {**instance(name), MANAGED_BY: MANAGER}


def query(labels: Mapping[str, str]) -> str:
    """The ``label_selector`` matching objects that carry every one of ``labels``."""
    return ",".join(f"{key}={value}" for key, value in labels.items())
