"""Process entry of the model server: spec, logging, uvicorn, signals and drain.

``python -m shipml.runtime PROJECT_DIR`` is the entrypoint of every shipml image; ``shipml serve``
calls :func:`serve` too. SIGTERM stops accepting connections, lets every accepted request finish,
then exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from uvicorn.supervisors import Multiprocess

from shipml.errors import ShipmlError
from shipml.runtime import logs
from shipml.runtime.app import ModelServer, create_app
from shipml.runtime.cpus import default_threads
from shipml.spec import Spec, load_spec, with_env_overrides

PROJECT_ENV = "SHIPML_PROJECT"
log = logging.getLogger("shipml.runtime")


class DrainingServer(uvicorn.Server):
    """uvicorn's server that reports not-ready while draining and exits 0 after a SIGTERM drain."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        app = self.config.loaded_app
        if isinstance(app, ModelServer):
            app.draining = True
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn re-raises the captured signal after shutdown, which would make a clean
            # drain exit 143; a drained SIGTERM is a normal, successful stop.
            self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]


def project_spec(project: Path, overrides: dict[str, str]) -> Spec:
    """The project's spec with SHIPML_* environment variables, then explicit options, applied."""
    return with_env_overrides(with_env_overrides(load_spec(project), os.environ), overrides)


def app_from_environment() -> ModelServer:
    """uvicorn factory for worker processes: the project named by SHIPML_PROJECT."""
    project = Path(os.environ[PROJECT_ENV])
    return create_app(project_spec(project, {}), project)


def _config(app: ModelServer | str, spec: Spec, host: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        host=host,
        port=spec.serve.port,
        workers=spec.serve.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        proxy_headers=False,  # no per-request header rewriting on the hot path
        server_header=False,
        backlog=4096,
        timeout_keep_alive=75,  # longer than common load balancers' idle timeouts
        timeout_graceful_shutdown=int(spec.serve.request_timeout_s) + 5,
    )


def serve(project: Path, *, host: str, port: int | None = None, workers: int | None = None) -> None:
    """Serve a project directory until SIGTERM/SIGINT; raises ShipmlError on a bad spec."""
    given = (("SHIPML_PORT", port), ("SHIPML_WORKERS", workers))
    overrides = {k: str(v) for k, v in given if v is not None}  # 0 too: the spec rejects it
    spec = project_spec(project, overrides)
    # OpenMP (scikit-learn, XGBoost, LightGBM, onnxruntime) otherwise starts a thread per host
    # CPU in every worker, ignoring container limits; read before any model library loads.
    os.environ.setdefault("OMP_NUM_THREADS", str(default_threads(spec.serve.workers)))
    logs.configure()
    log.info(
        "starting",
        extra={
            "model": spec.name,
            "version": spec.version,
            "port": spec.serve.port,
            "host": host,
            "workers": spec.serve.workers,
        },
    )
    if spec.serve.workers == 1:
        DrainingServer(_config(create_app(spec, project), spec, host)).run()
        return
    os.environ[PROJECT_ENV] = str(project.resolve())
    for key, value in overrides.items():
        os.environ[key] = value
    config = _config(f"{__name__}:app_from_environment", spec, host)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m shipml.runtime [PROJECT] [--host] [--port] [--workers]``."""
    parser = argparse.ArgumentParser(prog="python -m shipml.runtime", description=__doc__)
    parser.add_argument("project", nargs="?", default=".", type=Path)
    parser.add_argument("--host", default=os.environ.get("SHIPML_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    try:
        serve(args.project, host=args.host, port=args.port, workers=args.workers)
    except ShipmlError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
