"""Credentials from Docker's and Podman's auth files and a real credential-helper process."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path

import pytest

from shipml.errors import AuthError
from shipml.registry import credentials
from shipml.registry.credentials import Credential

# A docker-credential-* helper speaking the real protocol, keeping its secrets in a JSON file.
HELPER = """#!{python}
import json, sys, pathlib
db = pathlib.Path({db!r})
data = json.loads(db.read_text()) if db.exists() else {{}}
action = sys.argv[1]
if action == "get":
    server = sys.stdin.read().strip()
    if server not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps({{"ServerURL": server, **data[server]}}))
elif action == "store":
    entry = json.loads(sys.stdin.read())
    data[entry["ServerURL"]] = {{"Username": entry["Username"], "Secret": entry["Secret"]}}
    db.write_text(json.dumps(data))
elif action == "erase":
    data.pop(sys.stdin.read().strip(), None); db.write_text(json.dumps(data))
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real auth file of this machine is read: HOME and every variable point into tmp."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    return home


def write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install docker-credential-shipmltest on PATH; returns its database file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    db = tmp_path / "helper-db.json"
    script = bin_dir / "docker-credential-shipmltest"
    script.write_text(HELPER.format(python=sys.executable, db=str(db)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return db


def test_nothing_configured_means_anonymous() -> None:
    assert credentials.lookup("registry.example.com") is None


def test_docker_config_auths_including_the_hub_legacy_key(isolated: Path) -> None:
    write(
        isolated / ".docker" / "config.json",
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": auth("hubuser", "hubpass")},
                "registry.example.com:5000": {"auth": auth("me", "pa:ss")},
                "https://ghcr.io": {"auth": auth("gh", "tok"), "identitytoken": "refresh"},
            }
        },
    )
    assert credentials.lookup("docker.io") == Credential("hubuser", "hubpass")
    assert credentials.lookup("registry.example.com:5000") == Credential("me", "pa:ss")
    found = credentials.lookup("ghcr.io")
    assert found is not None and found.identity_token == "refresh"
    assert credentials.lookup("registry.example.com") is None


def test_podman_auth_file_wins_and_repository_scoped_keys_are_most_specific(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    write(isolated / ".docker" / "config.json", {"auths": {"r.io": {"auth": auth("docker", "x")}}})
    write(
        runtime / "containers" / "auth.json",
        {
            "auths": {
                "r.io": {"auth": auth("podman", "y")},
                "r.io/team": {"auth": auth("team", "z")},
            }
        },
    )
    assert credentials.lookup("r.io") == Credential("podman", "y")
    assert credentials.lookup("r.io", "team/app") == Credential("team", "z")
    explicit = write(tmp_path / "explicit.json", {"auths": {"r.io": {"auth": auth("env", "w")}}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(explicit))
    assert credentials.lookup("r.io") == Credential("env", "w")


def test_credential_helpers_get_store_and_erase(isolated: Path, helper: Path) -> None:
    config = write(isolated / ".docker" / "config.json", {"credHelpers": {"r.io": "shipmltest"}})
    assert credentials.lookup("r.io") is None
    credentials.store(config, "r.io", Credential("alice", "s3cret"))
    assert json.loads(helper.read_text())["r.io"] == {"Username": "alice", "Secret": "s3cret"}
    assert "s3cret" not in config.read_text()
    assert credentials.lookup("r.io") == Credential("alice", "s3cret")
    assert credentials.erase(config, "r.io")
    assert credentials.lookup("r.io") is None


def test_creds_store_and_identity_tokens(isolated: Path, helper: Path) -> None:
    helper.write_text(json.dumps({"r.io": {"Username": "<token>", "Secret": "refresh-token"}}))
    write(isolated / ".docker" / "config.json", {"credsStore": "shipmltest"})
    assert credentials.lookup("r.io") == Credential(identity_token="refresh-token")


def test_missing_helper_is_a_clear_error(isolated: Path) -> None:
    write(isolated / ".docker" / "config.json", {"credHelpers": {"r.io": "nosuchhelper"}})
    with pytest.raises(AuthError, match="docker-credential-nosuchhelper"):
        credentials.lookup("r.io")


def test_store_writes_a_private_file_and_keeps_other_entries(isolated: Path) -> None:
    config = write(
        isolated / ".docker" / "config.json",
        {"auths": {"other.io": {"auth": auth("o", "p")}}, "psFormat": "table"},
    )
    credentials.store(config, "r.io:5000", Credential("bob", "pw"))
    credentials.store(config, "docker.io", Credential("hub", "pw2"))
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    document = json.loads(config.read_text())
    assert document["psFormat"] == "table"
    assert set(document["auths"]) == {"other.io", "r.io:5000", "https://index.docker.io/v1/"}
    assert credentials.lookup("r.io:5000") == Credential("bob", "pw")
    assert credentials.erase(config, "r.io:5000")
    assert not credentials.erase(config, "r.io:5000")
    assert credentials.lookup("r.io:5000") is None


def test_broken_files_are_named(isolated: Path) -> None:
    config = isolated / ".docker" / "config.json"
    config.parent.mkdir()
    config.write_text("{not json")
    with pytest.raises(AuthError, match=str(config)):
        credentials.lookup("r.io")
    write(config, {"auths": {"r.io": {"auth": "!!!"}}})
    with pytest.raises(AuthError, match="not base64"):
        credentials.lookup("r.io")


def test_secrets_stay_out_of_reprs() -> None:
    shown = repr(Credential("alice", "hunter2", "tok-123"))
    assert "alice" in shown
    assert "hunter2" not in shown and "tok-123" not in shown
