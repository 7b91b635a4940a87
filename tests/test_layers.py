import gzip
import io
import os
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from shipml.errors import BuildError, DigestMismatchError
from shipml.layers import (
    Entry,
    EntryKind,
    Owner,
    bytes_entry,
    file_entry,
    source_date_epoch,
    tree_entries,
    write_layer,
)
from shipml.layers.pgzip import ParallelGzipWriter
from shipml.oci.digest import Digest
from shipml.oci.mediatypes import Compression, MediaType
from shipml.testing.images import flip_byte


def _project(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("print('a')\n")
    (root / "pkg" / "run.sh").write_text("#!/bin/sh\n")
    (root / "pkg" / "run.sh").chmod(0o775)
    (root / "pkg" / "sub" / "ü.txt").write_text("unicode\n")
    (root / "pkg" / "sub" / "secret").write_text("x")
    (root / "pkg" / "sub" / "secret").chmod(0o600)
    (root / "pkg" / "link").symlink_to("a.py")
    return root / "pkg"


def _members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:*") as tar:
        return tar.getmembers()


def test_tree_layer_is_normalised(tmp_path: Path) -> None:
    src = _project(tmp_path / "p")
    layer = write_layer(
        tree_entries(src, "/app", owner=Owner(1000, 1000)), tmp_path / "out", mtime=1700000000
    )
    members = {m.name: m for m in _members(layer.path)}
    assert list(members) == sorted(members, key=str.encode)
    assert members["app"].isdir() and members["app"].uid == 1000
    assert members["app/run.sh"].mode == 0o755
    assert members["app/sub/secret"].mode == 0o644
    assert members["app/link"].issym() and members["app/link"].linkname == "a.py"
    assert "app/sub/ü.txt" in members
    for m in members.values():
        assert m.mtime == 1700000000
        assert (m.uname, m.gname) == ("", "")
        assert (m.uid, m.gid) == (1000, 1000)


def test_same_inputs_same_digests_whatever_the_disk_says(tmp_path: Path) -> None:
    a = _project(tmp_path / "a")
    b = _project(tmp_path / "b")
    os.utime(b / "a.py", (1, 1))
    (b / "a.py").chmod(0o666)
    first = write_layer(tree_entries(a, "app"), tmp_path / "out1", mtime=0)
    second = write_layer(tree_entries(b, "app"), tmp_path / "out2", mtime=0)
    assert (first.digest(), first.diff_id()) == (second.digest(), second.diff_id())


def test_parents_are_added_root_owned(tmp_path: Path) -> None:
    layer = write_layer(
        [bytes_entry("/opt/model/spec.yaml", b"x", owner=Owner(5, 5))], tmp_path, mtime=0
    )
    members = {m.name: m for m in _members(layer.path)}
    assert list(members) == ["opt", "opt/model", "opt/model/spec.yaml"]
    assert (members["opt/model"].uid, members["opt/model"].mode) == (0, 0o755)
    assert members["opt/model/spec.yaml"].uid == 5


@pytest.mark.parametrize("compression", list(Compression))
def test_digests_match_the_blob_and_the_tar(tmp_path: Path, compression: Compression) -> None:
    layer = write_layer(
        [bytes_entry("f", os.urandom(300_000))], tmp_path, compression=compression, mtime=0
    )
    blob = layer.path.read_bytes()
    assert layer.digest() == Digest.of(blob)
    assert layer.size() == len(blob)
    assert layer.path.name == f"sha256-{layer.digest().encoded}"
    with layer.uncompressed() as stream:
        tar = stream.read()
    assert Digest.of(tar) == layer.diff_id()
    with layer.compressed() as stream:
        assert stream.read() == blob
    if compression is Compression.NONE:
        assert layer.digest() == layer.diff_id()


def test_gzip_header_has_no_time_or_name(tmp_path: Path) -> None:
    layer = write_layer([bytes_entry("f", b"x")], tmp_path, mtime=0)
    header = layer.path.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # MTIME
    assert header[3] & 0x08 == 0  # no FNAME
    assert layer.media_type() == MediaType.OCI_LAYER_GZIP
    assert gzip.decompress(layer.path.read_bytes())[:1] == b"f"


def test_long_names_and_big_ids_use_pax(tmp_path: Path) -> None:
    deep = "d/" * 80 + "file.txt"
    layer = write_layer(
        [bytes_entry(deep, b"x", owner=Owner(3_000_000, 3_000_000))],
        tmp_path,
        compression=Compression.NONE,
        mtime=0,
    )
    members = _members(layer.path)
    assert members[-1].name == deep and members[-1].uid == 3_000_000


def test_streams_files_in_pieces(tmp_path: Path) -> None:
    big = tmp_path / "weights.bin"
    with big.open("wb") as f:
        for _ in range(40):
            f.write(os.urandom(1 << 20))
    layer = write_layer([file_entry("/models/w.bin", big)], tmp_path / "out", mtime=0)
    with layer.uncompressed() as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        sizes = {m.name: m.size for m in tar}
    assert sizes["models/w.bin"] == 40 << 20


def test_corrupt_blob_is_refused_at_end_of_stream(tmp_path: Path) -> None:
    layer = write_layer([bytes_entry("f", b"hello" * 1000)], tmp_path, mtime=0)
    flip_byte(layer.path, -9)  # in the gzip trailer's CRC: decodes as a stream of the right size
    with pytest.raises(DigestMismatchError, match="refusing"), layer.compressed() as s:
        while s.read(1000):
            pass


def test_no_temp_files_left_on_failure(tmp_path: Path) -> None:
    missing = Entry(PurePosixPath("f"), EntryKind.FILE, 0o644, source=tmp_path / "gone")
    with pytest.raises(BuildError, match="cannot read"):
        write_layer([missing], tmp_path / "out", mtime=0)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("path", ["/abs", "../up", "a/../b"])
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(BuildError, match="must be relative"):
        Entry(PurePosixPath(path), EntryKind.DIR, 0o755)


def test_duplicates_and_specials_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="given twice"):
        write_layer([bytes_entry("f", b"1"), bytes_entry("f", b"2")], tmp_path, mtime=0)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(BuildError, match="not a file, directory or symlink"):
        tree_entries(tmp_path, "app")


def test_exclude_skips_whole_directories(tmp_path: Path) -> None:
    src = _project(tmp_path / "p")
    entries = tree_entries(src, "app", exclude=lambda p: p.parts[0] == "sub")
    assert {str(e.path) for e in entries} == {"app", "app/a.py", "app/run.sh", "app/link"}


def test_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")
    assert source_date_epoch() == 1234
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(BuildError, match="SOURCE_DATE_EPOCH"):
        source_date_epoch()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert source_date_epoch(7) == 7


def test_uncompressed_stream_is_a_file_like(tmp_path: Path) -> None:
    layer = write_layer([bytes_entry("f", b"abc")], tmp_path, compression=Compression.ZSTD, mtime=0)
    with layer.uncompressed() as stream:
        data = io.BytesIO(stream.read())
    with tarfile.open(fileobj=data) as tar:
        member = tar.extractfile("f")
        assert member is not None and member.read() == b"abc"


def test_parallel_gzip_bytes_do_not_depend_on_threads_or_chunking() -> None:
    data = os.urandom(3000) * 900 + b"tail"  # several 1 MiB blocks
    outputs = set()
    for threads, chunk in ((1, 7), (2, 65536), (4, 1 << 20)):
        out = io.BytesIO()
        with ParallelGzipWriter(out, level=6, threads=threads) as z:
            for i in range(0, len(data), chunk):
                z.write(data[i : i + chunk])
        outputs.add(out.getvalue())
    (blob,) = outputs
    assert gzip.decompress(blob) == data
    assert blob[4:8] == b"\0\0\0\0"


def test_zstd_layers_do_not_depend_on_cpu_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [bytes_entry("f", os.urandom(1 << 20) * 3)]
    digests = set()
    for cpus in (1, 3):
        monkeypatch.setattr(os, "cpu_count", lambda cpus=cpus: cpus)
        layer = write_layer(entries, tmp_path / str(cpus), compression=Compression.ZSTD, mtime=0)
        digests.add(layer.digest())
    assert len(digests) == 1
