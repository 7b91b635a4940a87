"""LightGBM boosters saved as text model files; outputs follow the training objective.

One FP64 input ``input-0`` [-1, features], NaN meaning missing. Classifiers (``binary``,
``multiclass``, ``multiclassova``) give ``predict``, the class index as LGBMClassifier.predict
computes it, and ``predict_proba`` [-1, n_classes] (for binary models the columns are 1 - p
and p). Every other objective gives the booster's ``predict`` values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shipml.errors import ModelError
from shipml.runtime.flavors import read_head
from shipml.runtime.flavors._boosted import (
    BoosterPredictor,
    Output,
    argmax,
    binary_label,
    classifier,
    regressor,
    same,
    two_columns,
)
from shipml.runtime.signature import TensorSpec
from shipml.spec import ModelSpec

_HEAD_BYTES = 256


def recognises(path: Path) -> bool:
    """Text model files: LightGBM begins them with a "tree" line, then "version=..."."""
    head = read_head(path, _HEAD_BYTES)
    return head.startswith((b"tree\n", b"tree\r\n")) and b"version=" in head


def load(path: Path, model: ModelSpec, project: Path) -> BoosterPredictor:
    """Load a booster; the objective saved in the model file decides the outputs."""
    import lightgbm

    try:
        booster = lightgbm.Booster(model_file=str(path))
    except lightgbm.basic.LightGBMError as e:
        raise ModelError(f"{path}: not a readable LightGBM model ({e})") from e
    objective = str(booster.params.get("objective", "")).split(" ", 1)[0]

    def run(x: np.ndarray) -> np.ndarray:
        # The server checked the shape already: skip LightGBM's own feature-count check.
        return np.asarray(booster.predict(x, predict_disable_shape_check=True))

    return BoosterPredictor(
        run,
        datatype="FP64",
        num_features=booster.num_feature(),
        outputs=_outputs(objective, booster.num_model_per_iteration()),
    )


def _outputs(objective: str, per_row: int) -> dict[TensorSpec, Output]:
    if objective == "binary":
        return classifier(2, "FP64", label=binary_label, proba=two_columns)
    if objective in ("multiclass", "multiclassova"):
        return classifier(per_row, "FP64", label=argmax, proba=same)
    return regressor("FP64", per_row)
