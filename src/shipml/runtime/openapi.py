"""The server's OpenAPI 3.1 document and a self-contained docs page (no CDN: works offline)."""

from __future__ import annotations

import html
import json
from math import prod
from typing import Any

from shipml.runtime.signature import Signature
from shipml.spec import Spec

_TENSOR = {
    "type": "object",
    "required": ["name", "datatype", "shape", "data"],
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "parameters": {"type": "object"},
        "data": {"type": "array", "description": "flat (row-major) or nested values"},
    },
}
_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto}td{padding:.2em .8em}"
    "pre{background:#f4f4f4;padding:1em;overflow:auto}"
)
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "bad request",
        404: "unknown model or version",
        413: "body too large",
        500: "model error",
        503: "not ready or overloaded",
        504: "timed out",
    }
    return {str(c): _json_response(text[c], {"$ref": "#/components/schemas/Error"}) for c in codes}


def example_request(signature: Signature | None) -> dict[str, Any]:
    """A V2 request body with one row of zeros for each input."""
    if signature is None:
        return {"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 1], "data": [0.0]}]}
    inputs = []
    for t in signature.inputs:
        shape = t.example_shape
        value: Any = "" if t.datatype == "BYTES" else (False if t.datatype == "BOOL" else 0)
        inputs.append(
            {"name": t.name, "datatype": t.datatype, "shape": shape, "data": [value] * prod(shape)}
        )
    return {"inputs": inputs}


def document(spec: Spec, signature: Signature | None, version: str) -> dict[str, Any]:
    """OpenAPI for the endpoints of this model's server."""
    model = f"/v2/models/{spec.name}"
    infer = {
        "post": {
            "summary": "Open Inference Protocol (V2) inference",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/InferenceRequest"},
                        "example": example_request(signature),
                    }
                },
            },
            "responses": {
                "200": _json_response(
                    "inference result", {"$ref": "#/components/schemas/InferenceResponse"}
                ),
                **_errors(400, 404, 413, 500, 503, 504),
            },
        }
    }
    simple = {"get": {"responses": {"200": {"description": "ok"}, **_errors(503)}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{spec.name} (shipml {version})", "version": spec.version},
        "paths": {
            "/v2/health/live": simple,
            "/v2/health/ready": simple,
            "/v2": simple,
            model: {
                "get": {
                    "summary": "model metadata",
                    "responses": {"200": {"description": "ok"}, **_errors(404)},
                }
            },
            f"{model}/ready": simple,
            f"{model}/infer": infer,
            f"{model}/versions/{spec.version}/infer": infer,
            f"/v1/models/{spec.name}:predict": {
                "post": {
                    "summary": 'KServe V1 predict: {"instances": [...]} -> {"predictions": [...]}',
                    "responses": {
                        "200": {"description": "predictions"},
                        **_errors(400, 404, 413, 500, 503, 504),
                    },
                }
            },
            f"/v1/models/{spec.name}": simple,
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text format"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Tensor": _TENSOR,
                "InferenceRequest": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Tensor"},
                        },
                        "outputs": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                        },
                    },
                },
                "InferenceResponse": {
                    "type": "object",
                    "properties": {
                        "model_name": {"type": "string"},
                        "model_version": {"type": "string"},
                        "id": {"type": "string"},
                        "outputs": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Tensor"},
                        },
                    },
                },
            }
        },
    }


def docs_page(spec: Spec, signature: Signature | None) -> str:
    """A small HTML page: the endpoints, the signature and a curl example."""
    sig = json.dumps(signature.to_json() if signature else "loading", indent=2)
    body = json.dumps(example_request(signature))
    curl = (
        f"curl -s localhost:{spec.serve.port}/v2/models/{spec.name}/infer "
        f"-H 'content-type: application/json' -d '{body}'"
    )
    rows = "".join(
        f"<tr><td><code>{m}</code></td><td><code>{html.escape(p)}</code></td><td>{html.escape(d)}</td></tr>"
        for m, p, d in (
            ("POST", f"/v2/models/{spec.name}/infer", "Open Inference Protocol (V2) inference"),
            ("GET", f"/v2/models/{spec.name}", "model metadata (signature)"),
            ("GET", f"/v2/models/{spec.name}/ready", "model readiness"),
            ("POST", f"/v1/models/{spec.name}:predict", "KServe V1 predict"),
            ("GET", "/v2/health/live, /v2/health/ready", "liveness, readiness"),
            ("GET", "/metrics", "Prometheus metrics"),
            ("GET", "/openapi.json", "OpenAPI document"),
        )
    )
    title = html.escape(spec.name)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title} - shipml</title>
<style>{_STYLE}</style>
</head><body><h1>{html.escape(spec.name)} <small>{html.escape(spec.version)}</small></h1>
<table>{rows}</table><h2>Signature</h2><pre>{html.escape(sig)}</pre>
<h2>Try it</h2><pre>{html.escape(curl)}</pre></body></html>"""
