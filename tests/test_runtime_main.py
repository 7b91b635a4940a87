"""The server's process entry: explicit options go through the spec's validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipml.errors import SpecError
from shipml.runtime import main


def test_an_explicit_port_0_is_validated_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shipml.yaml").write_text("name: x\nmodel:\n  path: model.joblib\n")
    monkeypatch.delenv("SHIPML_PORT", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(main.logs, "configure", lambda: None)

    def run(self: main.DrainingServer) -> None:
        raise AssertionError("the server started on the spec's port instead")

    monkeypatch.setattr(main.DrainingServer, "run", run)
    with pytest.raises(SpecError, match=r"serve\.port: Input should be greater than or equal to 1"):
        main.serve(tmp_path, host="127.0.0.1", port=0)
