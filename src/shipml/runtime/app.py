"""The ASGI application: V2 and V1 inference, health, metadata, metrics and docs for one model.

Plain ASGI, no framework: the hot path is one dict lookup for the route, one JSON parse, the
signature check, a batch, one JSON dump.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipml.errors import ModelError, RequestError, ShipmlError
from shipml.runtime import openapi
from shipml.runtime.asgi import (
    JSON,
    ClientGone,
    Receive,
    Scope,
    Send,
    error_body,
    read_body,
    send_error,
    send_json,
    send_response,
    with_timeout,
)
from shipml.runtime.batcher import Batcher
from shipml.runtime.flavors import load_predictor
from shipml.runtime.flavors.base import Predictor
from shipml.runtime.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from shipml.runtime.metrics import Metrics
from shipml.runtime.protocol import v1, v2
from shipml.runtime.protocol.tensors import dumps, loads
from shipml.runtime.signature import Signature
from shipml.spec import Spec

Loader = Callable[[], Predictor]

log = logging.getLogger("shipml.runtime")
SERVER_NAME = "shipml"


@functools.cache
def _version() -> str:
    """shipml's installed version; read once, as metadata lookups scan sys.path."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shipml")
    except PackageNotFoundError:
        return "0+unknown"


class ModelServer:
    """One model behind the inference protocols; ``ready`` once loaded and warmed up."""

    def __init__(self, spec: Spec, loader: Loader) -> None:
        self.spec = spec
        self._loader = loader
        self.metrics = Metrics()
        self.predictor: Predictor | None = None
        self.batcher: Batcher | None = None
        self.draining = False
        self.load_error: str | None = None
        self._inflight = 0
        self.answered = 0  # inference responses sent, logged at shutdown to account for the drain
        self._settled = asyncio.Event()  # set once the model loaded or failed to
        self.metrics.inflight.set_function(lambda: self._inflight)
        self.metrics.queue_depth.set_function(lambda: self.batcher.depth if self.batcher else 0)
        serve = spec.serve
        self._timeout = serve.request_timeout_s
        self._max_body = serve.max_body_bytes
        self._openapi_body, self._docs_body = _documentation(spec, None)
        self._routes: dict[tuple[str, str], Callable[[Scope, Receive, Send], Awaitable[None]]] = {
            ("GET", "/v2/health/live"): self._live,
            ("GET", "/v2/health/ready"): self._ready,
            ("GET", "/v2"): self._server_metadata,
            ("GET", "/metrics"): self._metrics,
            ("GET", "/openapi.json"): self._openapi,
            ("GET", "/docs"): self._docs,
            ("GET", "/v1/models"): self._v1_models,
        }

    # ----------------------------------------------------------------- ASGI entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        handler = self._routes.get((method, path))
        if handler is not None:
            await handler(scope, receive, send)
        elif path.startswith("/v2/models/"):
            await self._v2_model(scope, receive, send, method, path[len("/v2/models/") :])
        elif path.startswith("/v1/models/"):
            await self._v1_model(scope, receive, send, method, path[len("/v1/models/") :])
        else:
            known = any(p == path for _, p in self._routes)
            status, msg = (
                (405, f"method {method} not allowed on {path}")
                if known
                else (404, f"no endpoint {path}; see /docs")
            )
            await send_error(send, status, msg)

    # ----------------------------------------------------------------- lifespan

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        load_task: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                load_task = asyncio.get_running_loop().create_task(self._load())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if load_task is not None and not load_task.done():
                    load_task.cancel()
                if self.batcher is not None:
                    await self.batcher.stop()
                log.info("stopped", extra={"inference_responses": self.answered})
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _load(self) -> None:
        """Load the model off the loop, run one warm-up prediction, then become ready."""
        started = time.perf_counter()
        try:
            predictor = await asyncio.to_thread(self._loader)
            batcher = self._batcher_for(predictor)
            try:
                sig = predictor.signature
                await batcher.run_alone(warmup_inputs(sig), sig.check_outputs(()))
            except BaseException:
                await batcher.stop()
                raise
        except ShipmlError as e:
            self.load_error = str(e)
            log.error("model failed to load: %s", e)
        except Exception as e:
            self.load_error = f"{type(e).__name__}: {e}"
            log.exception("model failed to load")
        else:
            seconds = time.perf_counter() - started
            # The model's objects live as long as the process: keep the cyclic GC from
            # rescanning them on every collection (shorter pauses on the request path).
            gc.collect()
            gc.freeze()
            self.metrics.model_load_seconds.set(seconds)
            self._openapi_body, self._docs_body = _documentation(self.spec, predictor.signature)
            self.predictor, self.batcher = predictor, batcher
            log.info(
                "model ready", extra={"model": self.spec.name, "load_seconds": round(seconds, 3)}
            )
        finally:
            self._settled.set()

    def _batcher_for(self, predictor: Predictor) -> Batcher:
        """A started batcher over the predictor, sized by the spec and the model's signature."""
        batching = self.spec.serve.batching
        batcher = Batcher(
            predictor.predict,
            max_batch_size=batch_rows(predictor.signature, batching.max_batch_size),
            max_latency_s=batching.max_latency_ms / 1000,
            max_queue=self.spec.serve.max_queue,
            on_batch=self.metrics.batch_size.observe,
        )
        batcher.start()
        return batcher

    async def _wait_until_loaded(self) -> tuple[Batcher, Predictor]:
        """A request that arrives while the model loads waits for it (another worker of the
        same server may already be ready), up to the request timeout; 503 if loading failed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), self._timeout)
        if self.batcher is None or self.predictor is None:
            raise RequestError(_not_ready_message(self), status=503)
        return self.batcher, self.predictor

    # ----------------------------------------------------------------- health, metadata

    def _status(self) -> tuple[int, bool]:
        ok = self.batcher is not None and not self.draining
        return (200 if ok else 503), ok

    async def _live(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.load_error is not None:
            await send_json(send, 500, {"live": False, "error": self.load_error})
        else:
            await send_json(send, 200, {"live": True})

    async def _ready(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, ok = self._status()
        await send_json(send, status, {"ready": ok})

    async def _server_metadata(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_json(send, 200, {"name": SERVER_NAME, "version": _version(), "extensions": []})

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.metrics.exposition()
        await send_response(send, 200, body, METRICS_CONTENT_TYPE.encode())

    async def _openapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_response(send, 200, self._openapi_body, JSON)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_response(send, 200, self._docs_body, b"text/html; charset=utf-8")

    def _model_metadata(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.spec.name,
            "versions": [self.spec.version],
            "platform": self.spec.model.flavor or "auto",
        }
        if self.predictor is not None:
            doc.update(self.predictor.signature.to_json())
        return doc

    async def _v1_models(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_json(send, 200, {"models": [self.spec.name]})

    # ----------------------------------------------------------------- model routes

    def _check_model(self, name: str, version: str | None) -> None:
        if name != self.spec.name:
            raise RequestError(
                f"model {name!r} not found; this server serves {self.spec.name!r}", status=404
            )
        if version is not None and version != self.spec.version:
            raise RequestError(
                f"model {name!r} has no version {version!r}; it has {self.spec.version!r}",
                status=404,
            )

    async def _v2_model(
        self, scope: Scope, receive: Receive, send: Send, method: str, rest: str
    ) -> None:
        name, _, tail = rest.partition("/")
        version: str | None = None
        if tail.startswith("versions/"):
            version, _, tail = tail[len("versions/") :].partition("/")
        try:
            self._check_model(name, version)
            if tail == "infer":
                _allow(method, "POST")
                await self._infer(scope, receive, send, "v2_infer", self._prepare_v2)
                return
            _allow(method, "GET")
            if tail == "ready":
                status, ok = self._status()
                await send_json(send, status, {"name": name, "ready": ok})
            elif tail == "":
                await send_json(send, 200, self._model_metadata())
            else:
                raise RequestError(f"no endpoint {scope['path']}; see /docs", status=404)
        except RequestError as e:
            await send_error(send, e.status, e.message)

    async def _v1_model(
        self, scope: Scope, receive: Receive, send: Send, method: str, rest: str
    ) -> None:
        name, colon, verb = rest.partition(":")
        try:
            self._check_model(name, None)
            if colon and verb == "predict":
                _allow(method, "POST")
                await self._infer(scope, receive, send, "v1_predict", self._prepare_v1)
            elif not colon:
                _allow(method, "GET")
                await send_json(send, 200, {"name": name, "ready": self._status()[1]})
            else:
                raise RequestError(f"unknown verb {verb!r}; V1 has ':predict'", status=404)
        except RequestError as e:
            await send_error(send, e.status, e.message)

    # ----------------------------------------------------------------- inference

    def _prepare_v2(self, doc: Any, sig: Signature) -> _Prepared:
        request = v2.decode_request(doc)
        inputs, rows = sig.check_inputs(request.inputs)
        spec = self.spec
        return _Prepared(
            inputs,
            rows,
            sig.check_outputs(request.outputs),
            lambda result: v2.encode_response(
                model_name=spec.name,
                model_version=spec.version,
                request_id=request.id,
                outputs=result,
            ),
        )

    def _prepare_v1(self, doc: Any, sig: Signature) -> _Prepared:
        inputs, rows = sig.check_inputs(v1.decode_request(doc, sig))
        return _Prepared(inputs, rows, sig.check_outputs(()), v1.encode_response)

    async def _infer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        endpoint: str,
        prepare: Callable[[Any, Signature], _Prepared],
    ) -> None:
        started = time.perf_counter()
        self._inflight += 1
        status = 200
        headers: list[tuple[bytes, bytes]] = []
        try:
            # Accepted requests are served during a drain too: only readiness reports it.
            batcher, predictor = self.batcher, self.predictor
            if batcher is None or predictor is None:
                batcher, predictor = await self._wait_until_loaded()
            with batcher.arriving():
                doc = loads(await read_body(scope, receive, self._max_body))
                job = prepare(doc, predictor.signature)
                future = batcher.submit(job.inputs, job.rows, job.outputs)
            result = await with_timeout(future, self._timeout)
            body = dumps(job.encode(result))
        except RequestError as e:
            status, body = e.status, error_body(e.message)
            if status == 503:
                headers.append((b"retry-after", b"1"))
        except ModelError as e:
            status, body = 500, error_body(e.message)
        except TimeoutError:
            status = 504
            body = error_body(
                f"request timed out after {self._timeout:g}s (serve.request_timeout_s)"
            )
        except ClientGone:
            status = 499  # nginx's "client closed request", for the metrics only
            return
        except Exception as e:
            log.exception("unexpected error serving %s", scope["path"])
            status, body = 500, error_body(f"internal error: {type(e).__name__}: {e}")
        finally:
            self._inflight -= 1
            self.metrics.observe(endpoint, status, time.perf_counter() - started)
        await send_response(send, status, body, JSON, headers)
        self.answered += 1


@dataclass(frozen=True)
class _Prepared:
    """A validated request, ready for the batcher, and how to encode its result."""

    inputs: dict[str, np.ndarray]
    rows: int
    outputs: tuple[str, ...]
    encode: Callable[[dict[str, np.ndarray]], Any]


def batch_rows(signature: Signature, max_batch_size: int) -> int:
    """Rows per batch: a model with a fixed batch dimension takes exactly that many at once."""
    fixed = [t.shape[0] for t in signature.inputs if t.shape[0] != -1]
    return min(fixed) if fixed else max_batch_size


def warmup_inputs(signature: Signature) -> dict[str, np.ndarray]:
    """One row of zeros (or empty strings) per input, with variable dimensions set to 1."""
    return {
        t.name: np.zeros(t.example_shape, dtype=t.dtype)
        if t.datatype != "BYTES"
        else np.full(t.example_shape, "", dtype=object)
        for t in signature.inputs
    }


def _documentation(spec: Spec, signature: Signature | None) -> tuple[bytes, bytes]:
    """The OpenAPI document and the docs page, encoded once per signature (None: not loaded)."""
    doc = dumps(openapi.document(spec, signature, _version()))
    return doc, openapi.docs_page(spec, signature).encode()


def _not_ready_message(server: ModelServer) -> str:
    if server.draining:
        return "server is shutting down"
    if server.load_error:
        return f"model failed to load: {server.load_error}"
    return "model is still loading; retry shortly"


def _allow(method: str, expected: str) -> None:
    if method != expected:
        raise RequestError(f"method {method} not allowed here; use {expected}", status=405)


def create_app(spec: Spec, project: Path) -> ModelServer:
    """The ASGI app serving the project's model; it loads in the background once started."""
    return ModelServer(spec, lambda: load_predictor(spec.model, project))
