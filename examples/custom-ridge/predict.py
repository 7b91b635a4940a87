"""The custom predictor shipml serves: setup() loads the weights once, predict() runs a batch."""

from pathlib import Path

import numpy as np


class Predictor:
    """Ridge regression on standardised features, from the weights train.py wrote."""

    def setup(self, model_path: Path) -> None:
        """Called once before serving, with model.path from shipml.yaml (here weights.npz)."""
        with np.load(model_path) as w:
            self.mean, self.scale = w["mean"], w["scale"]
            self.coef, self.intercept = w["coef"], float(w["intercept"])

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every input holds the batch's rows on axis 0; return one row per input row."""
        z = (inputs["input-0"] - self.mean) / self.scale
        return {"predict": z @ self.coef + self.intercept}
