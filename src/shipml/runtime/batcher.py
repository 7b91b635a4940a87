"""Adaptive batching: concurrent requests merge into one predict call on one inference thread.

A batch is dispatched as soon as the inference thread is free, so a lone request never waits
for batch-mates. Under load, requests that arrive while a batch runs form the next batch, up to
``max_batch_size`` rows. When a batch is not full and more requests are known to be on their way
(admitted by the server but not yet submitted), dispatch waits for them, at most
``max_latency_s`` after the oldest queued request arrived. Nothing polls: dispatch happens on
submit, on a finished batch, on the last arrival, or on the latency timer. The loop and the
inference thread talk through one queue each way, with no executor in between, because the
hand-off is on every request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from shipml.errors import ModelError, RequestError

PredictFn = Callable[[Mapping[str, np.ndarray], Sequence[str]], dict[str, np.ndarray]]
Deliver = Callable[[dict[str, np.ndarray] | None, Exception | None], None]
log = logging.getLogger("shipml.runtime")


@dataclass(eq=False)
class Job:
    """One request's rows waiting for a batch; the result arrives on ``future``."""

    inputs: dict[str, np.ndarray]
    rows: int
    outputs: tuple[str, ...]
    future: asyncio.Future[dict[str, np.ndarray]]
    enqueued: float
    alone: bool = False  # re-run by itself after its batch failed, to find the request at fault


@dataclass(frozen=True)
class _Work:
    """One predict call for the inference thread, and how its outcome gets back to the loop."""

    inputs: Mapping[str, np.ndarray]
    outputs: tuple[str, ...]
    deliver: Deliver = field(repr=False)


class Batcher:
    """Queues jobs, merges compatible ones (same requested outputs), predicts off the loop."""

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch_size: int = 64,
        max_latency_s: float = 0.005,
        max_queue: int = 2048,
        on_batch: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or max_latency_s < 0:
            raise ValueError("max_batch_size and max_queue must be >= 1, max_latency_s >= 0")
        self._predict = predict
        self._max_rows = max_batch_size
        self._max_latency = max_latency_s
        self._max_queue = max_queue
        self._on_batch = on_batch
        self._clock = clock
        self._queue: deque[Job] = deque()
        self._queued_rows = 0
        self._arriving = 0
        self._running = False
        self._settling = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._timer: asyncio.TimerHandle | None = None
        self._inbox: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="shipml-infer", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def depth(self) -> int:
        """Requests waiting for a batch (not counting the one running)."""
        return len(self._queue)

    def start(self) -> None:
        """Start the inference thread; call from the event loop."""
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    async def stop(self) -> None:
        """Finish every queued job, then stop the inference thread."""
        while self._running or self._queue:
            self._idle.clear()
            self._maybe_dispatch()
            await self._idle.wait()
        self._inbox.put(None)
        await asyncio.to_thread(self._thread.join)

    async def run_alone(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> None:
        """Run one prediction on the inference thread outside any batch (used for warm-up)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def deliver(result: dict[str, np.ndarray] | None, error: Exception | None) -> None:
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(None)

        self._inbox.put(_Work(inputs, tuple(outputs), deliver))
        await done

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Mark a request as on its way, so a partial batch may wait for it (see module doc)."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1
            if self._arriving == 0:
                self._maybe_dispatch()

    def submit(
        self, inputs: dict[str, np.ndarray], rows: int, outputs: tuple[str, ...]
    ) -> asyncio.Future[dict[str, np.ndarray]]:
        """Queue a job; 503 (RequestError) when the queue is full, instead of growing memory."""
        if len(self._queue) >= self._max_queue:
            raise RequestError(
                f"server overloaded: {len(self._queue)} requests queued (serve.max_queue)",
                status=503,
            )
        future: asyncio.Future[dict[str, np.ndarray]] = asyncio.get_running_loop().create_future()
        self._queue.append(Job(inputs, rows, outputs, future, self._clock()))
        self._queued_rows += rows
        self._maybe_dispatch()
        return future

    # ----------------------------------------------------------------- on the loop

    def _maybe_dispatch(self) -> None:
        if self._running or self._settling or not self._queue:
            return
        if self._arriving and self._queued_rows < self._max_rows:
            remaining = self._queue[0].enqueued + self._max_latency - self._clock()
            if remaining > 0:
                if self._timer is None:
                    assert self._loop is not None
                    self._timer = self._loop.call_later(remaining, self._on_timer)
                return
        self._dispatch()

    def _on_timer(self) -> None:
        self._timer = None
        if not self._running and self._queue:
            self._dispatch()

    def _dispatch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = self._take()
        if not batch:
            self._idle.set()
            return
        self._running = True
        self._idle.clear()
        rows = sum(job.rows for job in batch)
        if self._on_batch is not None:
            self._on_batch(rows)
        inputs = _concat([job.inputs for job in batch])
        self._inbox.put(
            _Work(inputs, batch[0].outputs, lambda r, e: self._finish(batch, rows, r, e))
        )

    def _take(self) -> list[Job]:
        """One batch: the oldest live job and the following ones asking for the same outputs."""
        batch: list[Job] = []
        rows = 0
        skipped: list[Job] = []
        while self._queue:
            job = self._queue.popleft()
            self._queued_rows -= job.rows
            if job.future.done():  # timed out or cancelled while queued
                continue
            if job.alone and batch:
                skipped.append(job)
                break
            fits = rows + job.rows <= self._max_rows
            if batch and (job.outputs != batch[0].outputs or not fits):
                skipped.append(job)
                if not fits:
                    break
                continue
            batch.append(job)
            rows += job.rows
            if job.alone:
                break
        for job in reversed(skipped):
            self._queue.appendleft(job)
            self._queued_rows += job.rows
        return batch

    def _finish(
        self,
        batch: list[Job],
        rows: int,
        result: dict[str, np.ndarray] | None,
        error: Exception | None,
    ) -> None:
        self._running = False
        if error is None and result is not None:
            try:
                _check_rows(result, rows)
            except ModelError as e:
                error = e
        if error is not None:
            if len(batch) > 1:
                # Isolate the failure: each request runs alone so only the bad one fails.
                for job in reversed(batch):
                    job.alone = True
                    self._queue.appendleft(job)
                    self._queued_rows += job.rows
            else:
                _fail(batch[0], error)
        else:
            assert result is not None
            start = 0
            for job in batch:
                if not job.future.done():
                    job.future.set_result(
                        {k: v[start : start + job.rows] for k, v in result.items()}
                    )
                start += job.rows
        self._settling = True
        self._settle(-1)

    def _settle(self, seen: int) -> None:
        """After a batch, let the loop read what arrived meanwhile, pass by pass, while each pass
        adds requests: they join the next batch instead of waiting for the one after."""
        grew = len(self._queue) > seen
        young = bool(self._queue) and (self._clock() - self._queue[0].enqueued < self._max_latency)
        if grew and young and self._queued_rows < self._max_rows:
            assert self._loop is not None
            self._loop.call_soon(self._settle, len(self._queue))
            return
        self._settling = False
        self._maybe_dispatch()
        if not self._running:
            self._idle.set()

    # ----------------------------------------------------------------- on the inference thread

    def _work(self) -> None:
        assert self._loop is not None
        while (work := self._inbox.get()) is not None:
            result: dict[str, np.ndarray] | None = None
            error: Exception | None = None
            try:
                result = self._predict(work.inputs, work.outputs)
            except Exception as e:
                error = e
            try:
                self._loop.call_soon_threadsafe(work.deliver, result, error)
            except RuntimeError:  # the loop closed while the prediction ran: nobody waits
                return


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _check_rows(result: Mapping[str, np.ndarray], rows: int) -> None:
    for name, value in result.items():
        if value.ndim == 0 or value.shape[0] != rows:
            raise ModelError(
                f"the model returned {name!r} with shape {list(value.shape)} "
                f"for {rows} input rows; every output needs one row per input row"
            )


def _fail(job: Job, error: Exception) -> None:
    if job.future.done():
        return
    if isinstance(error, RequestError | ModelError):
        job.future.set_exception(error)
        return
    log.error("model raised on a batch of %d rows", job.rows, exc_info=error)
    job.future.set_exception(ModelError(f"the model raised {type(error).__name__}: {error}"))
