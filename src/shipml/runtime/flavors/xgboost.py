"""XGBoost boosters saved as JSON or UBJSON; outputs follow the training objective.

One FP32 input ``input-0`` [-1, features], NaN meaning missing. Classifiers
(``binary:logistic``, ``multi:softprob``) give ``predict``, the class index as
XGBClassifier.predict computes it, and ``predict_proba`` [-1, n_classes] (for binary models
the columns are 1 - p and p). ``multi:softmax`` gives the class index only; every other
objective gives the booster's ``predict`` values ([-1] or [-1, targets]).
"""

from __future__ import annotations

import json
from functools import partial
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

_HEAD_BYTES = 64  # XGBoost writes "learner" as the first key, in JSON and UBJSON alike


def recognises(path: Path) -> bool:
    """JSON or UBJSON documents whose first key is XGBoost's "learner"."""
    head = read_head(path, _HEAD_BYTES)
    return head.startswith(b"{") and b"learner" in head


def load(path: Path, model: ModelSpec, project: Path) -> BoosterPredictor:
    """Load a booster; the objective in its saved configuration decides the outputs."""
    import xgboost

    try:
        booster = xgboost.Booster(model_file=str(path))
    except xgboost.core.XGBoostError as e:
        first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"{path}: not a readable XGBoost model ({first_line})") from e
    learner = json.loads(booster.save_config())["learner"]
    params = learner["learner_model_param"]
    outputs = _outputs(
        learner["objective"]["name"], int(params["num_class"]), int(params.get("num_target", 1))
    )
    # The server checked the shape already; inplace_predict skips building a DMatrix.
    return BoosterPredictor(
        partial(booster.inplace_predict, validate_features=False),
        datatype="FP32",
        num_features=booster.num_features(),
        outputs=outputs,
    )


def _as_label(p: np.ndarray) -> np.ndarray:
    return p.astype(np.int64)


def _outputs(objective: str, num_class: int, num_target: int) -> dict[TensorSpec, Output]:
    if objective == "binary:logistic" and num_target == 1:
        return classifier(2, "FP32", label=binary_label, proba=two_columns)
    if objective == "multi:softprob":
        return classifier(num_class, "FP32", label=argmax, proba=same)
    if objective == "multi:softmax":
        return {TensorSpec("predict", "INT64", (-1,)): _as_label}
    return regressor("FP32", num_target)
