"""Shared by the XGBoost and LightGBM flavors: named outputs derived from a booster's prediction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from shipml.runtime.flavors.base import INPUT_NAME
from shipml.runtime.signature import Signature, TensorSpec

Output = Callable[[np.ndarray], np.ndarray]


def two_columns(p: np.ndarray) -> np.ndarray:
    """A binary model's probabilities of class 0 and class 1, from those of class 1."""
    return np.column_stack((1.0 - p, p))


def argmax(p: np.ndarray) -> np.ndarray:
    """The most probable class of each row."""
    index: np.ndarray = np.argmax(p, axis=1)
    return index


def binary_label(p: np.ndarray) -> np.ndarray:
    """A binary model's class index from the probability of class 1, as both XGBClassifier and
    LGBMClassifier predict it (p > 0.5; the argmax of [1 - p, p] gives the same, ties to 0)."""
    return (p > 0.5).astype(np.int64)


def same(p: np.ndarray) -> np.ndarray:
    """The prediction as it is."""
    return p


def classifier(
    n_classes: int, datatype: str, *, label: Output, proba: Output
) -> dict[TensorSpec, Output]:
    """``predict``, the class index, and ``predict_proba`` [-1, n_classes]."""
    return {
        TensorSpec("predict", "INT64", (-1,)): label,
        TensorSpec("predict_proba", datatype, (-1, n_classes)): proba,
    }


def regressor(datatype: str, per_row: int) -> dict[TensorSpec, Output]:
    """``predict``, the booster's values: [-1], or [-1, per_row] for several targets."""
    return {TensorSpec("predict", datatype, (-1,) if per_row == 1 else (-1, per_row)): same}


class BoosterPredictor:
    """A booster's prediction function behind the Predictor interface; NaN means missing."""

    def __init__(
        self,
        run: Callable[[np.ndarray], np.ndarray],
        *,
        datatype: str,
        num_features: int,
        outputs: Mapping[TensorSpec, Output],
    ) -> None:
        self._run = run
        self._outputs = {spec.name: derive for spec, derive in outputs.items()}
        self.signature = Signature(
            inputs=(TensorSpec(INPUT_NAME, datatype, (-1, num_features), allow_nan=True),),
            outputs=tuple(outputs),
            default_outputs=("predict",),
        )

    def predict(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        raw = self._run(inputs[INPUT_NAME])
        return {name: self._outputs[name](raw) for name in outputs}
