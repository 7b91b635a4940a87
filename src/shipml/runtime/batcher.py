"""Adaptive batching: concurrent requests merge into one predict call on one inference thread.

A batch is dispatched as soon as the inference thread is free, so a lone request never waits
for batch-mates. Under load, requests that arrive while a batch runs form the next batch, up to
``max_batch_size`` rows. When a batch is not full and more requests are known to be on their way
(admitted by the server but not yet submitted), the dispatcher waits for them, at most
``max_latency_s`` after the oldest queued request arrived. Everything waits on events: no polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from shipml.errors import ModelError, RequestError

PredictFn = Callable[[Mapping[str, np.ndarray], Sequence[str]], dict[str, np.ndarray]]
log = logging.getLogger("shipml.runtime")


@dataclass(eq=False)
class Job:
    """One request's rows waiting for a batch; the result arrives on ``future``."""

    inputs: dict[str, np.ndarray]
    rows: int
    outputs: tuple[str, ...]
    future: asyncio.Future[dict[str, np.ndarray]]
    enqueued: float = field(default=0.0)


class Batcher:
    """Queues jobs, merges compatible ones (same requested outputs) and runs them off the loop."""

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
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipml-infer")
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def depth(self) -> int:
        """Requests waiting for a batch (not counting the one running)."""
        return len(self._queue)

    def start(self) -> None:
        """Start dispatching; call from the event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="shipml-batcher")

    async def stop(self) -> None:
        """Finish every queued job, then stop the dispatcher and the inference thread."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def run_alone(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> None:
        """Run one prediction on the inference thread outside any batch (used for warm-up)."""
        await asyncio.get_running_loop().run_in_executor(
            self._executor, self._predict, inputs, outputs
        )

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Mark a request as on its way, so a partial batch may wait for it (see module doc)."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1
            if self._arriving == 0:
                self._wakeup.set()

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
        self._wakeup.set()
        return future

    async def _run(self) -> None:
        while True:
            while not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._wait_for_batch_mates()
            batch = self._take()
            if batch:
                await self._execute(batch)

    async def _wait_for_batch_mates(self) -> None:
        deadline = self._queue[0].enqueued + self._max_latency
        while self._arriving and self._queued_rows < self._max_rows:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return

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
            if batch and (job.outputs != batch[0].outputs or rows + job.rows > self._max_rows):
                skipped.append(job)
                if rows + job.rows > self._max_rows:
                    break
                continue
            batch.append(job)
            rows += job.rows
        for job in reversed(skipped):
            self._queue.appendleft(job)
            self._queued_rows += job.rows
        return batch

    async def _execute(self, batch: list[Job]) -> None:
        loop = asyncio.get_running_loop()
        inputs = _concat([job.inputs for job in batch])
        rows = sum(job.rows for job in batch)
        if self._on_batch is not None:
            self._on_batch(rows)
        try:
            result = await loop.run_in_executor(
                self._executor, self._predict, inputs, batch[0].outputs
            )
            _check_rows(result, rows)
        except Exception as e:
            if len(batch) > 1:
                # Isolate the failure: each request runs alone so only the bad one fails.
                for job in batch:
                    await self._execute([job])
                return
            _fail(batch[0], e)
            return
        start = 0
        for job in batch:
            if not job.future.done():
                job.future.set_result({k: v[start : start + job.rows] for k, v in result.items()})
            start += job.rows


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _check_rows(result: Mapping[str, np.ndarray], rows: int) -> None:
    for name, value in result.items():
        if value.ndim == 0 or value.shape[0] != rows:
            raise ModelError(
                f"the model returned {name!r} with shape {list(value.shape)} "
                f"for {rows} input rows; "
                "every output needs one row per input row"
            )


def _fail(job: Job, error: Exception) -> None:
    if job.future.done():
        return
    if isinstance(error, RequestError | ModelError):
        job.future.set_exception(error)
        return
    log.error("model raised on a batch of %d rows", job.rows, exc_info=error)
    job.future.set_exception(ModelError(f"the model raised {type(error).__name__}: {error}"))
