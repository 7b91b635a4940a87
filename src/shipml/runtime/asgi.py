"""Plain ASGI plumbing of the server: message types, reading bodies, sending JSON answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shipml.errors import RequestError
from shipml.runtime.protocol.tensors import dumps

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; 413 past ``limit`` bytes, before reading it when it says its size."""
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            raise RequestError(
                f"request body of {int(value)} bytes exceeds the limit of {limit} "
                "(serve.max_body_bytes)",
                status=413,
            )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestError(
                f"request body exceeds the limit of {limit} bytes (serve.max_body_bytes)",
                status=413,
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def with_timeout(future: asyncio.Future[Any], seconds: float) -> Any:
    """Await a batch result; on timeout the job is dropped from the queue (its future is done)."""

    def expire() -> None:
        if not future.done():
            future.set_exception(TimeoutError())

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await future
    finally:
        timer.cancel()


def error_body(message: str) -> bytes:
    """The protocols' error document: ``{"error": "..."}``."""
    return dumps({"error": message})


async def send_error(send: Send, status: int, message: str) -> None:
    """Answer with an error document."""
    await send_response(send, status, error_body(message), JSON)


async def send_json(send: Send, status: int, doc: Any) -> None:
    """Answer with a JSON document."""
    await send_response(send, status, dumps(doc), JSON)


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with a complete body (Content-Length, never chunked)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
