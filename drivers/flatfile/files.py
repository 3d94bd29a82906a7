"""Which data files a flat-file source serves, and how one version of a file is named.

A drop folder is read as one path, a folder or a glob, with a policy: the newest
file, or every file in name order.  A file version is identified by device, inode,
size and modification time, so an atomic replacement (``os.replace``) is a new
version even when the name and size stay the same.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["DataFile", "list_files", "open_version", "has_magic"]

INDEX_FOLDER = ".legacy-bridge-index"


@dataclass(frozen=True)
class DataFile:
    """One version of one data file."""

    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def token(self) -> str:
        """What a cursor remembers: the name and the version it was read from."""
        return f"{self.name}|{self.dev}:{self.ino}:{self.size}:{self.mtime_ns}"

    @classmethod
    def from_stat(cls, path: str, st: os.stat_result) -> DataFile:
        return cls(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def has_magic(path: str) -> bool:
    return glob.has_magic(path)


def _candidates(path: str) -> list[str]:
    if has_magic(path):
        names = glob.glob(path)
    elif os.path.isdir(path):
        names = [os.path.join(path, n) for n in os.listdir(path)]
    else:
        names = [path]
    # hidden files are partial drops or our own index folder, never data
    return [n for n in names if not os.path.basename(n).startswith(".")]


def list_files(path: str, pick: str) -> list[DataFile]:
    """The files to serve now: ``pick: newest`` gives one, ``all`` every file by name."""
    found = []
    for name in _candidates(path):
        try:
            st = os.stat(name)
        except OSError:  # vanished between the listing and the stat
            continue
        if os.path.isfile(name):
            found.append(DataFile.from_stat(name, st))
    if pick == "newest":
        return sorted(found, key=lambda f: (f.mtime_ns, f.name))[-1:]
    return sorted(found, key=lambda f: f.name)


def open_version(df: DataFile) -> tuple[BinaryIO, DataFile]:
    """Open a listed file; the version is the one actually opened (it may have been
    replaced since the listing), and the handle keeps reading that version."""
    handle = open(df.path, "rb")
    try:
        return handle, DataFile.from_stat(df.path, os.fstat(handle.fileno()))
    except OSError:
        handle.close()
        raise
