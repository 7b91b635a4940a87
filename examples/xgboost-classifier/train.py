"""Train an XGBoost binary classifier (fixed seed) and save it as model.json.

Usage: python train.py [OUTPUT_DIR]   (default: this directory)
Some feature values are missing (NaN) on purpose: XGBoost learns where they go, and the
server accepts null for them in a request.
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification
from xgboost import XGBClassifier


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_classification(n_samples=5000, n_features=10, random_state=0)
    X[np.random.default_rng(0).random(X.shape) < 0.05] = np.nan
    model = XGBClassifier(n_estimators=50, max_depth=4, random_state=0, n_jobs=1).fit(X, y)
    model.save_model(out / "model.json")
    print(f"trained: accuracy {model.score(X, y):.4f}, wrote {out / 'model.json'}")


if __name__ == "__main__":
    main()
