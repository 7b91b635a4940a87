"""Random layers and images for tests: real deterministic blobs, seeded for reproducibility."""

from __future__ import annotations

import random
from pathlib import Path

from shipml.layers import FileLayer, bytes_entry, write_layer
from shipml.mutate import Addition, append_layers, canonical, index_of, scratch
from shipml.oci.config import History
from shipml.oci.image import Image, ImageIndex
from shipml.oci.mediatypes import Compression
from shipml.oci.platform import Platform


def random_layer(
    out_dir: Path,
    *,
    seed: int = 0,
    files: int = 3,
    size: int = 1024,
    compression: Compression = Compression.GZIP,
) -> FileLayer:
    """A layer of ``files`` random files of ``size`` bytes each under ``random/<seed>/``."""
    rng = random.Random(seed)
    entries = [bytes_entry(f"random/{seed}/file{i}.bin", rng.randbytes(size)) for i in range(files)]
    return write_layer(entries, out_dir, compression=compression, mtime=0)


def random_image(
    out_dir: Path,
    *,
    seed: int = 0,
    layers: int = 2,
    size: int = 1024,
    platform: Platform | str = "linux/amd64",
    compression: Compression = Compression.GZIP,
) -> Image:
    """A canonical image of ``layers`` random layers; the same arguments give the same digest."""
    if isinstance(platform, str):
        platform = Platform.parse(platform)
    additions = [
        Addition(
            random_layer(out_dir, seed=seed * 1000 + i, size=size, compression=compression),
            History(created_by=f"random layer {i}"),
        )
        for i in range(layers)
    ]
    return canonical(append_layers(scratch(platform), *additions))


def random_index(
    out_dir: Path, *, seed: int = 0, platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64")
) -> ImageIndex:
    """An index of one random image per platform."""
    return index_of(
        *(random_image(out_dir, seed=seed + i, platform=p) for i, p in enumerate(platforms))
    )


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Corrupt the blob at ``path`` in place: invert one byte (the middle one by default)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0xFF
    path.write_bytes(bytes(data))
