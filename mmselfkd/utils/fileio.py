"""Atomic file writes: a file is either absent, or complete under its final name.

A process killed while ``torch.save`` writes a file leaves a truncated file under the final
name: a 0-byte export, a checkpoint that cannot be loaded. Every file mmselfkd writes goes
through :func:`atomic_write`: the data goes to a temporary file in the same directory, which
is renamed onto the final name only when it is complete (``os.replace`` is atomic on POSIX
and Windows within one file system). MMEngine's own local writes (checkpoints, ``put`` /
``put_text``) are made atomic the same way by :class:`AtomicLocalBackend`.
"""
import contextlib
import io
import os
import os.path as osp
import re
import uuid
from pathlib import Path
from typing import Iterator, List, Union

import torch
from mmengine.fileio.backends import LocalBackend, register_backend

PathLike = Union[str, Path]
_TMP_SUFFIX = '.tmp'
_TMP_NAME = re.compile(r'\..+\.[0-9a-f]{8}\.tmp')


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = 'wb') -> Iterator[io.IOBase]:
    """Open a temporary file beside ``path``; rename it onto ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = osp.abspath(os.fspath(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    # a hidden name that globs such as ``epoch_*.pth`` do not match; `x` mode honours umask
    tmp = osp.join(folder, f'.{osp.basename(path)}.{uuid.uuid4().hex[:8]}{_TMP_SUFFIX}')
    try:
        with open(tmp, mode.replace('w', 'x')) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def remove_stale_temporaries(folder: PathLike) -> List[str]:
    """Remove the temporary files that a killed :func:`atomic_write` left in ``folder``."""
    folder = os.fspath(folder)
    removed = []
    if osp.isdir(folder):
        for name in os.listdir(folder):
            if _TMP_NAME.fullmatch(name) and osp.isfile(osp.join(folder, name)):
                os.remove(osp.join(folder, name))
                removed.append(name)
    return removed


def save_atomic(obj, path: PathLike) -> None:
    """``torch.save(obj, path)`` through :func:`atomic_write`."""
    with atomic_write(path) as f:
        torch.save(obj, f)


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local storage backend whose writes are atomic (see the module docstring).

    MMEngine saves checkpoints with ``get_file_backend(path).put(bytes, path)``; the stock
    backend opens the final path and writes into it, so a kill during a save leaves a
    truncated ``epoch_N.pth`` that ``--resume`` then fails to load.
    """

    def put(self, obj: bytes, filepath: PathLike) -> None:
        with atomic_write(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath: PathLike, encoding: str = 'utf-8') -> None:
        with atomic_write(filepath, 'wb') as f:
            f.write(obj.encode(encoding))


def use_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` MMEngine's backend for local paths."""
    from mmengine.fileio import io as mmengine_io
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # drop instances of the stock backend that were created before the registration
    for key in [k for k, v in mmengine_io.backend_instances.items()
                if type(v) is LocalBackend]:
        del mmengine_io.backend_instances[key]
