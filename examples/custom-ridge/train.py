"""Fit a ridge regression with plain numpy (fixed seed) and save its weights as weights.npz.

Usage: python train.py [OUTPUT_DIR]   (default: this directory)
predict.py holds the class that serves these weights (model.predictor in shipml.yaml).
"""

import sys
from pathlib import Path

import numpy as np

N_FEATURES = 5
ALPHA = 1.0


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, N_FEATURES))
    y = X @ np.array([1.5, -2.0, 0.5, 0.0, 3.0]) + 4.0 + rng.normal(scale=0.1, size=1000)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / scale
    coef = np.linalg.solve(Z.T @ Z + ALPHA * np.eye(N_FEATURES), Z.T @ (y - y.mean()))
    np.savez(out / "weights.npz", mean=mean, scale=scale, coef=coef, intercept=y.mean())
    rmse = np.sqrt(np.mean((Z @ coef + y.mean() - y) ** 2))
    print(f"trained: rmse {rmse:.4f}, wrote {out / 'weights.npz'}")


if __name__ == "__main__":
    main()
