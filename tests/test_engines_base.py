import pytest

from shipml.engines.base import Container, Publish, State
from shipml.errors import EngineError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8080", Publish(8080, 9000, "127.0.0.1")),
        ("9001:8080", Publish(9001, 8080, "127.0.0.1")),
        ("0.0.0.0:80:8080", Publish(80, 8080, "0.0.0.0")),
        ("127.0.0.2:9001", Publish(9001, 9000, "127.0.0.2")),
        ("[::1]:8081:8080", Publish(8081, 8080, "::1")),
    ],
)
def test_publish_parses_docker_syntax_on_loopback(text: str, expected: Publish) -> None:
    assert Publish.parse(text, container_port=9000) == expected


@pytest.mark.parametrize(
    "text", ["", "http", "1.2.3.4:", "70000:8080", "0:8080", "8080:0", "a:b:c:d", "1:2:3"]
)
def test_publish_refuses_what_is_not_a_port_mapping(text: str) -> None:
    with pytest.raises(EngineError, match=r"-p"):
        Publish.parse(text, container_port=8080)


def test_publish_argument_and_url() -> None:
    assert Publish(8080, 8080).argument() == "127.0.0.1:8080:8080"
    assert Publish(8080, 9000, "::1").argument() == "[::1]:8080:9000"
    assert Publish(8080, 8080, "0.0.0.0").url == "http://127.0.0.1:8080"
    assert Publish(8081, 8080, "::").url == "http://[::1]:8081"


def test_state_says_why_a_container_is_not_running() -> None:
    assert State("exited", running=False, exit_code=3).why() == "exited with code 3"
    assert "OOM" in State("exited", running=False, exit_code=137, oom_killed=True).why()
    assert "no such file" in State("created", False, error="exec: no such file").why()
    assert State("paused", running=False).why() == "is paused"


def test_container_ref_prefers_the_label_shipml_set() -> None:
    row = Container("id", "n", "sha256abc", "running", "Up", labels={"io.shipml.ref": "m:1"})
    assert row.ref == "m:1"
    assert Container("id", "n", "img", "running", "Up").ref == "img"
