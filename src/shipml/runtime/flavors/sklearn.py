"""scikit-learn estimators saved with joblib or pickle: ``predict`` and ``predict_proba``."""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shipml.errors import ModelError
from shipml.runtime.flavors.base import INPUT_NAME
from shipml.runtime.signature import Signature, TensorSpec, v2_datatype
from shipml.spec import ModelSpec

SUFFIXES = (".joblib", ".pkl", ".pickle")


def recognises(path: Path) -> bool:
    """joblib/pickle files by suffix (their content is only known after unpickling)."""
    return path.suffix.lower() in SUFFIXES


def load(path: Path, model: ModelSpec, project: Path) -> SklearnPredictor:
    """Unpickle an estimator; only load files you trust, as with any pickle."""
    import joblib

    try:
        estimator = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError) as e:
        raise ModelError(f"{path}: not a readable joblib/pickle file ({e})") from e
    except ModuleNotFoundError as e:
        raise ModelError(
            f"{path}: needs the Python package {e.name!r}, which is not installed",
            hint="add it to 'requirements' in shipml.yaml",
        ) from e
    if not hasattr(estimator, "predict"):
        raise ModelError(f"{path}: holds a {type(estimator).__name__}, which has no predict()")
    return SklearnPredictor(estimator)


def _allows_nan(estimator: Any) -> bool:
    try:
        return bool(estimator.__sklearn_tags__().input_tags.allow_nan)
    except AttributeError:
        return False


class SklearnPredictor:
    """An estimator behind the Predictor interface; one FP64 matrix in, named methods out."""

    def __init__(self, estimator: Any) -> None:
        n = getattr(estimator, "n_features_in_", None)
        if n is None:
            raise ModelError(
                f"{type(estimator).__name__} does not say how many features it takes "
                "(no n_features_in_: is it fitted?)",
                hint="declare model.signature in shipml.yaml",
            )
        self._estimator = estimator
        self.feature_names = [str(f) for f in getattr(estimator, "feature_names_in_", [])]
        classes = getattr(estimator, "classes_", None)
        predict_dtype = v2_datatype(np.asarray(classes).dtype) if classes is not None else "FP64"
        outputs = [TensorSpec("predict", predict_dtype, (-1,))]
        if hasattr(estimator, "predict_proba") and classes is not None:
            outputs.append(TensorSpec("predict_proba", "FP64", (-1, len(classes))))
        self.signature = Signature(
            inputs=(TensorSpec(INPUT_NAME, "FP64", (-1, int(n)), _allows_nan(estimator)),),
            outputs=tuple(outputs),
            default_outputs=("predict",),
        )

    def predict(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        x: Any = inputs[INPUT_NAME]
        if self.feature_names:
            import pandas as pd  # estimators fitted on frames warn without their column names

            x = pd.DataFrame(x, columns=self.feature_names)
        return {name: np.asarray(getattr(self._estimator, name)(x)) for name in outputs}
