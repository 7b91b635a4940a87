"""Flavors: one module per model framework, each loading a model file into a Predictor.

Flavor modules are imported only when used, so serving an ONNX model never imports
scikit-learn, XGBoost or LightGBM.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np

from shipml.errors import ModelError
from shipml.runtime.flavors.base import Flavor, Predictor
from shipml.runtime.signature import Signature, from_decl
from shipml.spec import ModelSpec

# Detection order matters only for ambiguous files; each flavor checks content, not just names.
FLAVOR_NAMES = ("sklearn", "onnx", "xgboost", "lightgbm", "custom")


def flavor_module(name: str) -> Flavor:
    """The flavor module of that name."""
    if name not in FLAVOR_NAMES:
        raise ModelError(f"unknown flavor {name!r}; expected one of {list(FLAVOR_NAMES)}")
    return cast(Flavor, importlib.import_module(f"shipml.runtime.flavors.{name}"))


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file, or none when it cannot be read (for detection)."""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError:
        return b""


def detect_flavor(path: Path) -> str:
    """The flavor that recognises a model file, or a ModelError listing what is supported."""
    if not path.exists():
        raise ModelError(f"model file {path} does not exist")
    for name in FLAVOR_NAMES[:-1]:
        if flavor_module(name).recognises(path):
            return name
    raise ModelError(
        f"{path}: not a model file shipml recognises",
        hint="supported: scikit-learn .joblib/.pkl, ONNX .onnx, XGBoost .json/.ubj, "
        "LightGBM .txt; or set 'model.flavor: custom' with 'predictor: file.py:Class'",
    )


def resolve_flavor(model: ModelSpec, project: Path) -> str:
    """The model's flavor: as declared, "custom" for a predictor, else detected from the file."""
    return model.flavor or ("custom" if model.predictor else detect_flavor(project / model.path))


def load_predictor(model: ModelSpec, project: Path) -> Predictor:
    """Load the model a spec names, applying a declared signature over the detected one."""
    path = project / model.path
    flavor = resolve_flavor(model, project)
    if flavor != "custom" and not path.exists():
        raise ModelError(f"model file {path} does not exist (model.path in shipml.yaml)")
    try:
        predictor = flavor_module(flavor).load(path, model, project)
    except ModuleNotFoundError as e:
        raise ModelError(
            f"the {flavor} flavor needs the Python module {e.name!r}, which is not installed",
            hint="add the package that provides it to 'requirements' in shipml.yaml",
        ) from e
    if model.signature is None:
        return predictor
    declared = from_decl(model.signature)
    if not declared.outputs:
        own = predictor.signature
        declared = replace(declared, outputs=own.outputs, default_outputs=own.default_outputs)
    if declared == predictor.signature:  # the custom flavor builds its own from the same decl
        return predictor
    return _Declared(predictor, declared)


class _Declared:
    """A predictor whose signature is the one declared in the spec."""

    def __init__(self, inner: Predictor, signature: Signature) -> None:
        self._inner = inner
        self.signature = signature

    def predict(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        return self._inner.predict(inputs, outputs)
