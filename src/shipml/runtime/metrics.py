"""Prometheus metrics of one server, in a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The server's metrics; label children are cached so the hot path does no label lookups."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._requests = Counter(
            "shipml_requests",
            "Requests by endpoint and HTTP status.",
            ("endpoint", "status"),
            registry=r,
        )
        self._latency = Histogram(
            "shipml_request_duration_seconds",
            "Request latency by endpoint.",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "shipml_batch_size",
            "Rows per predict call (adaptive batching).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge("shipml_queue_depth", "Requests waiting for a batch.", registry=r)
        self.inflight = Gauge(
            "shipml_inflight_requests", "Inference requests being served.", registry=r
        )
        self.model_load_seconds = Gauge(
            "shipml_model_load_seconds", "Seconds to load and warm up the model.", registry=r
        )
        self._children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency."""
        key = (endpoint, status)
        child = self._children.get(key)
        if child is None:
            child = (self._requests.labels(endpoint, str(status)), self._latency.labels(endpoint))
            self._children[key] = child
        child[0].inc()
        child[1].observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
