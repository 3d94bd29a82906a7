"""Files delivered whole into a folder: written under a hidden ``.part`` name, flushed to
disk, then renamed, so a reader of the folder sees a file complete or not at all."""

from __future__ import annotations

import os

__all__ = ["rename_durably", "write_atomically"]


def rename_durably(part: str, final: str) -> None:
    """Rename ``part`` (already fsynced) to ``final`` and fsync their folder, so the new name
    survives a crash."""
    os.rename(part, final)
    folder = os.open(os.path.dirname(final) or ".", os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def write_atomically(folder: str, name: str, data: bytes) -> str:
    """``data`` as the file ``folder/name``, never seen half written; its path.

    Raises:
        FileExistsError: when ``name`` is there already (a file is never replaced).
    """
    final = os.path.join(folder, name)
    if os.path.exists(final):
        raise FileExistsError(f"{final} exists already")
    part = os.path.join(folder, f".{name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        rename_durably(part, final)
    except BaseException:
        if os.path.exists(part):
            os.unlink(part)
        raise
    return final
