import os
import shutil
from pathlib import Path

import pytest

from shipml.engines.detect import find_engine
from shipml.engines.docker import Docker
from shipml.engines.podman import Podman
from shipml.errors import EngineError


def _path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **tools: str) -> None:
    """PATH holding only ``tools`` (name -> shell script body)."""
    for name, body in tools.items():
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("SHIPML_ENGINE", raising=False)


def test_no_engine_says_so_and_suggests_shipml_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path_with(tmp_path, monkeypatch)
    with pytest.raises(EngineError) as caught:
        find_engine()
    assert "no usable container engine" in caught.value.message
    assert "podman: not installed" in caught.value.message
    assert caught.value.hint and "shipml serve" in caught.value.hint


def test_podman_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _path_with(tmp_path, monkeypatch, podman="exit 0", docker="echo 28.0")
    assert isinstance(find_engine(), Podman)


def test_a_docker_cli_without_a_daemon_is_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path_with(tmp_path, monkeypatch,
               docker="echo 'Cannot connect to the Docker daemon' >&2; exit 1")
    with pytest.raises(EngineError, match=r"docker: .*Cannot connect to the Docker daemon"):
        find_engine()
    _path_with(tmp_path, monkeypatch, docker="echo 28.0")
    assert isinstance(find_engine(), Docker)


def test_the_engine_asked_for_is_used_or_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path_with(tmp_path, monkeypatch, podman="exit 0", docker="echo 28.0")
    monkeypatch.setenv("SHIPML_ENGINE", "docker")
    assert isinstance(find_engine(), Docker)
    assert isinstance(find_engine("podman"), Podman)
    with pytest.raises(EngineError, match="unknown container engine 'rkt'"):
        find_engine("rkt")
    os.remove(tmp_path / "docker")
    with pytest.raises(EngineError, match="docker: not installed"):
        find_engine()


def test_real_podman_is_found_when_installed() -> None:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    assert isinstance(find_engine("podman"), Podman)
