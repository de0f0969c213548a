"""A copy of a file made with as little of the processor as the file system allows.

A recorded run keeps a copy of the Parquet file a reader scanned (`copies.py`), made while the run's own query
reads that file: the copy should take neither a core from the query nor the data's room twice in memory. The
first of these that the file system accepts makes it:

1. a clone (Linux's `FICLONE`: Btrfs, XFS, bcachefs, ...): the new file shares the source's blocks copy-on-write,
   so a later write to either leaves the other as it was; no byte is copied.
2. direct writes from a mapping of the source (`O_DIRECT`): the source's pages, cached already since the query
   reads them, go to the disk as they are instead of being copied into new cached pages first (ext4: 128 MB in
   about 5 ms of CPU, against 35 ms for the kernel's copy, and sooner). The source is mapped `WINDOW` bytes at a
   time, so the process's resident size never counts the whole file; the last partial block is written as usual.
3. the kernel's copy (`shutil.copyfile`: `sendfile` on Linux).

Never a link to the source itself: a later change of the user's file in place would change the recorded run.
A source that shrinks during the copy makes the direct writes fail (`EFAULT`: the kernel reads the mapping, no
signal reaches the process), and the copy is made again the plain way. Durability is the caller's: it fsyncs.
"""

from __future__ import annotations

import mmap
import os
import shutil
import sys
from pathlib import Path

WINDOW = 8 << 20  # bytes of the source mapped at once: a multiple of every block and page size in use
BLOCK = 4096  # what direct writes are aligned to: a page, a multiple of every disk's logical block
FICLONE = 0x40049409  # Linux's ioctl number (`fcntl.FICLONE` from Python 3.12)


def copy_bytes(source: Path, target: Path, *, window: int = WINDOW) -> None:
    """Make `target` (created or truncated) a copy of `source`'s bytes."""
    if _cloned(source, target):
        return
    try:
        _direct_copy(source, target, window)
    except OSError:  # no O_DIRECT here (tmpfs, ...), an alignment the device refuses, the source shrinking
        shutil.copyfile(source, target)


def _cloned(source: Path, target: Path) -> bool:
    if sys.platform != "linux":
        return False
    import fcntl

    try:
        with open(source, "rb") as reading, open(target, "wb") as writing:
            fcntl.ioctl(writing.fileno(), FICLONE, reading.fileno())
    except OSError:  # EOPNOTSUPP (ext4, tmpfs), EXDEV (another file system), ...
        return False
    return True


def _direct_copy(source: Path, target: Path, window: int) -> None:
    direct = getattr(os, "O_DIRECT", None)
    if direct is None:
        raise OSError("no O_DIRECT on this system")
    reading = os.open(source, os.O_RDONLY)
    try:
        size = os.fstat(reading).st_size
        aligned = size - size % BLOCK
        writing = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | direct, 0o644)
        try:
            for start in range(0, aligned, window):
                _write_mapped(reading, writing, start, min(window, aligned - start))
        finally:
            os.close(writing)
        if aligned < size:
            tail = os.pread(reading, size - aligned, aligned)
            writing = os.open(target, os.O_WRONLY)
            try:
                if os.pwrite(writing, tail, aligned) != len(tail):
                    raise OSError(f"a short write of the last {len(tail)} bytes")
            finally:
                os.close(writing)
    finally:
        os.close(reading)


def _write_mapped(reading: int, writing: int, start: int, length: int) -> None:
    """Write `length` bytes of the source from `start` (both multiples of BLOCK) through a mapping of them."""
    with mmap.mmap(reading, length, offset=start, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
        done = 0
        while done < length:
            written = os.write(writing, view[done:])
            if written <= 0 or written % BLOCK:  # what would follow could not be aligned
                raise OSError(f"a short direct write ({written} bytes)")
            done += written
