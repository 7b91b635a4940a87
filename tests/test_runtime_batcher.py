"""The adaptive batcher: merging, splitting, failure isolation, backpressure, no lone waits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from shipml.errors import ModelError, RequestError
from shipml.runtime.batcher import Batcher


class Recorder:
    """A model that doubles its input, records batch sizes and can block until released."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        self.gate.wait(5)
        x = inputs["x"]
        self.batches.append(len(x))
        if (x < 0).any():
            raise ValueError("negative input")
        return {name: x * 2 for name in outputs}


def job(value: float, rows: int = 1) -> dict[str, np.ndarray]:
    return {"x": np.full((rows, 3), value)}


async def _with_batcher(model: Recorder, body, **options):  # type: ignore[no-untyped-def]
    batcher = Batcher(model, **options)
    batcher.start()
    try:
        return await body(batcher)
    finally:
        await batcher.stop()


def test_concurrent_requests_merge_and_each_gets_its_own_rows() -> None:
    model = Recorder()

    async def body(b: Batcher) -> list[dict[str, np.ndarray]]:
        model.gate.clear()  # hold the first batch so the others queue up behind it
        first = b.submit(job(0.0), 1, ("y",))
        await asyncio.sleep(0.05)
        rest = [b.submit(job(float(i), rows=i), i, ("y",)) for i in range(1, 6)]
        model.gate.set()
        return list(await asyncio.gather(first, *rest))

    results = asyncio.run(_with_batcher(model, body))
    assert model.batches == [1, 1 + 2 + 3 + 4 + 5]
    for i, result in enumerate(results):
        assert result["y"].shape == (max(i, 1), 3)
        np.testing.assert_array_equal(result["y"], np.full((max(i, 1), 3), 2.0 * i))


def test_batches_respect_max_batch_size() -> None:
    model = Recorder()

    async def body(b: Batcher) -> None:
        model.gate.clear()
        futures = [b.submit(job(1.0, rows=3), 3, ("y",)) for _ in range(5)]
        await asyncio.sleep(0.05)
        model.gate.set()
        await asyncio.gather(*futures)

    asyncio.run(_with_batcher(model, body, max_batch_size=6))
    assert all(size <= 6 for size in model.batches)
    assert sum(model.batches) == 15


def test_a_bad_request_fails_alone_not_its_batch_mates() -> None:
    model = Recorder()

    async def body(b: Batcher) -> list[object]:
        model.gate.clear()
        futures = [b.submit(job(v), 1, ("y",)) for v in (1.0, -1.0, 2.0)]
        await asyncio.sleep(0.05)
        model.gate.set()
        return list(await asyncio.gather(*futures, return_exceptions=True))

    good1, bad, good2 = asyncio.run(_with_batcher(model, body))
    assert isinstance(bad, ModelError) and "negative input" in str(bad)
    assert isinstance(good1, dict) and float(good1["y"][0, 0]) == 2.0
    assert isinstance(good2, dict) and float(good2["y"][0, 0]) == 4.0


def test_full_queue_answers_503_instead_of_growing() -> None:
    model = Recorder()

    async def body(b: Batcher) -> None:
        model.gate.clear()
        running = b.submit(job(1.0), 1, ("y",))
        await asyncio.sleep(0.05)  # the first job is now on the inference thread
        queued = [b.submit(job(1.0), 1, ("y",)) for _ in range(2)]
        with pytest.raises(RequestError) as e:
            b.submit(job(1.0), 1, ("y",))
        assert e.value.status == 503
        model.gate.set()
        await asyncio.gather(running, *queued)

    asyncio.run(_with_batcher(model, body, max_queue=2))


def test_a_lone_request_does_not_wait_for_batch_mates() -> None:
    """With nothing else arriving, max_latency never delays a request (a 10 s wait would show)."""
    model = Recorder()

    async def body(b: Batcher) -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await b.submit(job(1.0), 1, ("y",))
        return loop.time() - start

    assert asyncio.run(_with_batcher(model, body, max_latency_s=10.0)) < 5.0


def test_waits_for_a_request_known_to_be_arriving() -> None:
    model = Recorder()

    async def body(b: Batcher) -> None:
        with b.arriving():
            first = b.submit(job(1.0), 1, ("y",))
            await asyncio.sleep(0.05)
            second = b.submit(job(2.0), 1, ("y",))
        await asyncio.gather(first, second)

    asyncio.run(_with_batcher(model, body, max_latency_s=5.0))
    assert model.batches == [2]


def test_different_outputs_are_not_merged() -> None:
    model = Recorder()

    async def body(b: Batcher) -> None:
        model.gate.clear()
        futures = [
            b.submit(job(1.0), 1, ("y",)),
            b.submit(job(1.0), 1, ("y",)),
            b.submit(job(1.0), 1, ("y", "z")),
        ]
        await asyncio.sleep(0.05)
        model.gate.set()
        results = await asyncio.gather(*futures)
        assert set(results[2]) == {"y", "z"}

    asyncio.run(_with_batcher(model, body))
    assert sum(model.batches) == 3


def test_output_with_wrong_row_count_is_a_model_error() -> None:
    def broken(inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        return {"y": np.zeros(1)}

    async def run() -> None:
        b = Batcher(broken)
        b.start()
        with pytest.raises(ModelError, match="one row per input row"):
            await b.submit(job(1.0, rows=3), 3, ("y",))
        await b.stop()

    asyncio.run(run())


def test_stop_finishes_queued_jobs() -> None:
    model = Recorder()

    async def run() -> list[dict[str, np.ndarray]]:
        b = Batcher(model)
        b.start()
        model.gate.clear()
        futures = [b.submit(job(1.0), 1, ("y",)) for _ in range(4)]
        stopping = asyncio.ensure_future(b.stop())
        await asyncio.sleep(0.05)
        model.gate.set()
        await stopping
        return list(await asyncio.gather(*futures))

    assert len(asyncio.run(run())) == 4


def test_a_fixed_batch_dimension_caps_batches() -> None:
    from shipml.runtime.app import batch_rows
    from shipml.runtime.signature import Signature, TensorSpec

    fixed = Signature(inputs=(TensorSpec("x", "FP32", (1, 3)),))
    free = Signature(inputs=(TensorSpec("x", "FP32", (-1, 3)),))
    assert batch_rows(fixed, 64) == 1
    assert batch_rows(free, 64) == 64
