"""`shipml predict URL --data JSON|@file`: send one inference request and print the answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from shipml.cli.console import out_console
from shipml.errors import RequestError, ShipmlError


def _body(data: str) -> Any:
    text = Path(data[1:]).read_text(encoding="utf-8") if data.startswith("@") else data
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = data if data.startswith("@") else "--data"
        raise ShipmlError(f"{where}: not valid JSON: {e}") from None


def infer_url(url: str, model: str | None) -> str:
    """A bare server URL becomes its model's V2 infer endpoint (the only model it serves)."""
    if "/models/" in url:
        return url
    base = url.rstrip("/")
    if model is None:
        models = httpx.get(f"{base}/v1/models", timeout=10).json()["models"]
        model = models[0]
    return f"{base}/v2/models/{model}/infer"


def predict(
    url: Annotated[str, typer.Argument(help="Server URL, or a full .../infer or ...:predict URL.")],
    data: Annotated[str, typer.Option("--data", "-d", help="Request JSON, or @file.")],
    model: Annotated[str | None, typer.Option(help="Model name (default: the server's).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 30.0,
) -> None:
    """POST a V2 (or V1) request; prints the response JSON."""
    body = _body(data)
    try:
        target = infer_url(url, model)
        response = httpx.post(target, json=body, timeout=timeout)
    except httpx.HTTPError as e:
        raise ShipmlError(f"cannot reach {url}: {e}", hint="is the server running?") from None
    if response.status_code >= 400:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        raise RequestError(
            f"{target}: HTTP {response.status_code}: {message}", status=response.status_code
        )
    out_console.print_json(response.text)


def register(app: typer.Typer) -> None:
    app.command()(predict)
