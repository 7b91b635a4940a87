"""Train the example classifier (fixed seed) and write model.joblib and request.json.

Usage: python train.py [OUTPUT_DIR]   (default: this directory)
"""

import json
import sys
from pathlib import Path

import joblib
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_classification(n_samples=20000, n_features=20, random_state=0)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)
    joblib.dump(model, out / "model.joblib")
    request = {
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [2, 20],
                    "data": X[:2].tolist()}],
        "outputs": [{"name": "predict_proba"}],
    }
    (out / "request.json").write_text(json.dumps(request), encoding="utf-8")
    print(f"trained: accuracy {model.score(X, y):.4f}, wrote {out / 'model.joblib'}")


if __name__ == "__main__":
    main()
