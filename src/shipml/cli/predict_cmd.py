"""`shipml predict URL --data JSON|@file`: send one inference request and print the answer."""

from __future__ import annotations

import json
from pathlib import Path

import click
import httpx

from shipml.cli.console import out_console
from shipml.errors import RequestError, ShipmlError


def _body(data: str) -> bytes:
    """The request body as given, once checked to be JSON (a clear error beats a server 400)."""
    text = Path(data[1:]).read_text(encoding="utf-8") if data.startswith("@") else data
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        where = data if data.startswith("@") else "--data"
        raise ShipmlError(f"{where}: not valid JSON: {e}") from None
    return text.encode()


def infer_url(url: str, model: str | None) -> str:
    """A bare server URL becomes its model's V2 infer endpoint (the only model it serves)."""
    if "/models/" in url:
        return url
    base = url.rstrip("/")
    if model is None:
        models = httpx.get(f"{base}/v1/models", timeout=10).json()["models"]
        model = models[0]
    return f"{base}/v2/models/{model}/infer"


@click.command("predict")
@click.argument("url")
@click.option("--data", "-d", required=True, help="Request JSON, or @file.")
@click.option("--model", help="Model name (default: the server's).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
              help="Seconds to wait.")
def predict(url: str, data: str, model: str | None, timeout: float) -> None:
    """POST a V2 (or V1) request to URL; prints the response JSON.

    URL is the server's (its only model's infer endpoint is used), or a full .../infer or
    ...:predict URL.
    """
    body = _body(data)
    try:
        target = infer_url(url, model)
        response = httpx.post(
            target, content=body, headers={"content-type": "application/json"}, timeout=timeout
        )
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

