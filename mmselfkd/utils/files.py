"""Writing files so that a reader never sees a half-written one."""
import os
import os.path as osp
import tempfile
from typing import Callable


def write_atomically(path: str, write: Callable[[str], None]) -> None:
    """Let ``write`` fill a temporary file beside ``path``, then move it onto ``path``.

    Args:
        path (str): the file to create or replace.
        write (callable): called with the temporary path (which keeps ``path``'s extension,
            so that e.g. matplotlib picks the format from it).
    """
    directory = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f'.{osp.basename(path)}.',
                               suffix=osp.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through :func:`write_atomically`."""

    def write(tmp: str) -> None:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)

    write_atomically(path, write)
