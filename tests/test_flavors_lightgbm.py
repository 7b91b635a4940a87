"""The LightGBM flavor: outputs by objective, numbers equal to LightGBM's, missing values kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from shipml.errors import ModelError
from shipml.runtime.flavors import detect_flavor, load_predictor
from shipml.runtime.flavors.base import Predictor
from shipml.runtime.signature import TensorSpec
from shipml.spec import ModelSpec, load_spec

RNG = np.random.default_rng(5)
TINY = {"n_estimators": 5, "num_leaves": 7, "n_jobs": 1, "verbose": -1}


def with_missing(rows: np.ndarray) -> np.ndarray:
    rows = rows.copy()
    rows[RNG.random(rows.shape) < 0.1] = np.nan
    return rows


def run(predictor: Predictor, rows: np.ndarray) -> dict[str, np.ndarray]:
    return predictor.predict({"input-0": rows}, predictor.signature.output_names)


def saved(model: lgb.LGBMModel, path: Path) -> Predictor:
    model.booster_.save_model(path)
    return load_predictor(ModelSpec(path=path.name), path.parent)


@pytest.fixture(scope="module")
def project(example_project: Callable[[str], Path]) -> Path:
    return example_project("lightgbm-classifier")


def test_example_equals_the_booster(project: Path) -> None:
    native = lgb.Booster(model_file=str(project / "model.txt"))
    predictor = load_predictor(load_spec(project).model, project)
    rows = with_missing(RNG.normal(size=(200, 10)))
    got = run(predictor, rows)
    proba = native.predict(rows)
    np.testing.assert_array_equal(got["predict_proba"], proba)
    np.testing.assert_array_equal(got["predict"], np.argmax(proba, axis=1))
    assert predictor.signature.inputs == (TensorSpec("input-0", "FP64", (-1, 10), allow_nan=True),)
    assert predictor.signature.outputs[1] == TensorSpec("predict_proba", "FP64", (-1, 3))
    assert predictor.signature.check_outputs(()) == ("predict",)


def test_binary_equals_lgbmclassifier(tmp_path: Path) -> None:
    x = RNG.normal(size=(300, 4))
    native = lgb.LGBMClassifier(**TINY).fit(x, x[:, 0] + x[:, 1] > 0)
    predictor = saved(native, tmp_path / "binary.txt")
    rows = with_missing(RNG.normal(size=(100, 4)))
    got = run(predictor, rows)
    np.testing.assert_array_equal(got["predict_proba"], native.predict_proba(rows))
    np.testing.assert_array_equal(got["predict"], native.predict(rows).astype(np.int64))


def test_regression_gives_the_values(tmp_path: Path) -> None:
    x = RNG.normal(size=(300, 4))
    native = lgb.LGBMRegressor(**TINY).fit(x, x[:, 0] * 2 + 1)
    predictor = saved(native, tmp_path / "reg.txt")
    assert predictor.signature.outputs == (TensorSpec("predict", "FP64", (-1,)),)
    rows = with_missing(RNG.normal(size=(50, 4)))
    np.testing.assert_array_equal(run(predictor, rows)["predict"], native.predict(rows))


def test_detected_by_content(project: Path, tmp_path: Path) -> None:
    assert detect_flavor(project / "model.txt") == "lightgbm"
    renamed = tmp_path / "booster.model"
    renamed.write_bytes((project / "model.txt").read_bytes())
    assert detect_flavor(renamed) == "lightgbm"
    (tmp_path / "notes.txt").write_text("tree planting schedule\n")
    with pytest.raises(ModelError, match="not a model file shipml recognises"):
        detect_flavor(tmp_path / "notes.txt")


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "model.txt").write_text("tree\nversion=v4\nthis is not a model\n")
    with pytest.raises(ModelError, match=r"model\.txt: not a readable LightGBM model"):
        load_predictor(ModelSpec(path="model.txt"), tmp_path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.txt does not exist"):
        load_predictor(ModelSpec(path="model.txt", flavor="lightgbm"), tmp_path)
