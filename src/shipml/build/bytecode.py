"""Bytecode for the image's Python: .pyc that stay valid whatever the files' mtimes (PEP 552).

Without them every container start compiles each module it imports (seconds for numpy, scipy
and scikit-learn) and, on a read-only root filesystem, never keeps the result. Unchecked-hash
.pyc are not checked against their source, so the fixed mtimes of reproducible layers do not
invalidate them. The bytecode format belongs to a Python minor version: only an interpreter of
the image's version compiles them; another one leaves the layer without .pyc.
"""

from __future__ import annotations

import compileall
import contextlib
import ctypes
import functools
import importlib.util
import py_compile
import re
import signal
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

_UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Test suites shipped inside wheels (a third of scipy's and scikit-learn's modules) are never
# imported by a server: compiling them would only slow the build and grow the layer.
_TEST_DIR = r"/(?:.*/)?tests?/"


def compiler_for(python: str) -> str | None:
    """This interpreter's full version when it compiles for an image's Python ``python``
    (``X.Y``); None when it cannot. The version belongs in a layer's cache inputs."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    return sys.version.split()[0] if python == here else None


def compile_tree(tree: Path, dest: PurePosixPath) -> None:
    """__pycache__/*.pyc beside every module under ``tree`` but test suites, naming sources by
    their path under ``dest`` in the image; modules that do not compile (e.g. Python 2 test
    data) get none."""
    compile_one = functools.partial(
        compileall.compile_file,
        quiet=2,
        force=True,
        stripdir=str(tree),
        prependdir=str(dest),
        rx=re.compile(re.escape(str(tree)) + _TEST_DIR),
        invalidation_mode=_UNCHECKED,
    )
    modules = sorted(str(p) for p in tree.rglob("*.py") if "__pycache__" not in p.parts)
    # Our own pool rather than compile_dir(workers=0): its workers would outlive a build that
    # is killed (SIGKILL) midway, idle forever.
    with ProcessPoolExecutor(initializer=_die_with_parent) as pool:
        for _ in pool.map(compile_one, modules, chunksize=64):
            pass


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this pool worker when the build process ends (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def pyc_path(dest: PurePosixPath) -> PurePosixPath:
    """Where the image's Python looks for the .pyc of the module at ``dest``."""
    return PurePosixPath(importlib.util.cache_from_source(str(dest)))


def compile_file(source: Path, dest: PurePosixPath) -> bytes:
    """The .pyc of the module file ``source`` that sits at ``dest`` in the image."""
    with tempfile.TemporaryDirectory(prefix="shipml-pyc-") as tmp:
        out = Path(tmp) / "module.pyc"
        py_compile.compile(
            str(source), cfile=str(out), dfile=str(dest), doraise=True, invalidation_mode=_UNCHECKED
        )
        return out.read_bytes()
