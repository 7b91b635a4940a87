#!/usr/bin/env bash
# Install the serving anchors (MLServer, BentoML, LitServe, FastAPI) in their own venvs under
# $BENCH_VENVS (default /tmp/bench-venvs), exactly as ../shared/bench/anchors/README.md says, and wrk.
set -euo pipefail
V="${BENCH_VENVS:-/tmp/bench-venvs}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk; }
mkdir -p "$V" && cd "$V"
for v in mlserver bentoml bentoml-uv litserve fastapi; do
  [ -x "$v/bin/python" ] || python3 -m venv "$v"
done
mlserver/bin/pip install -q mlserver==1.7.1 mlserver-sklearn==1.7.1 scikit-learn==1.9.1
mlserver/bin/pip install -q uvloop==0.21.0   # MLServer 1.7.1's worker dies with uvloop>=0.22
bentoml/bin/pip install -q bentoml==1.4.40 scikit-learn==1.9.1
litserve/bin/pip install -q litserve==0.2.19 scikit-learn==1.9.1 joblib
fastapi/bin/pip install -q fastapi uvicorn uvloop httptools orjson scikit-learn==1.9.1 joblib
# BentoML with uvicorn's fast paths (pip install bentoml pulls neither)
bentoml-uv/bin/pip install -q bentoml==1.4.40 scikit-learn==1.9.1 uvloop httptools
echo "anchors installed in $V" >&2
