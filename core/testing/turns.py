"""Tests that must run while nothing else of the run writes to the database server.

PostgreSQL's transaction ids, and so its snapshots, are shared by every database of a
server: a test that counts on a snapshot staying the same between two requests (a cache
answering again) fails when another xdist worker, or the background ``PgPool``, commits in
between. Such tests are marked ``kontora_alone``; every other test, and every database the
pool makes or drops, holds a shared lock, and an ``alone`` test takes it exclusively. A
second lock, the gate, lets a waiting ``alone`` test go before new shared holders.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

ENV = "KONTORA_TEST_TURNS"  # the run's lock folder, made by the main pytest process


def begin() -> str | None:
    """Make the run's lock folder (the main process; xdist workers inherit its path)."""
    if os.environ.get(ENV):
        return None
    os.environ[ENV] = folder = tempfile.mkdtemp(prefix="kontora-turns-")
    return folder


def end(folder: str | None):
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(ENV, None)


def _folder() -> Path:
    if not os.environ.get(ENV):
        begin()
    return Path(os.environ[ENV])


@contextmanager
def _locked(path: Path, mode):
    with open(path, "a") as fh:
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def shared(through_gate=True):
    """Held by each test (through the gate) and each background database operation."""
    folder = _folder()
    if through_gate:
        with _locked(folder / "gate", fcntl.LOCK_SH):
            main = open(folder / "main", "a")  # noqa: SIM115 (released below)
            fcntl.flock(main, fcntl.LOCK_SH)
    else:
        main = open(folder / "main", "a")  # noqa: SIM115
        fcntl.flock(main, fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(main, fcntl.LOCK_UN)
        main.close()


@contextmanager
def alone():
    """Held by a test marked ``kontora_alone``: no other test or pool operation runs."""
    folder = _folder()
    with _locked(folder / "gate", fcntl.LOCK_EX), _locked(folder / "main", fcntl.LOCK_EX):
        yield
