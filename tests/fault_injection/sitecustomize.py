"""Kill the process (SIGKILL) in the middle of writing a file, to test what is left behind.

Put this folder on PYTHONPATH and set ``MMSELFKD_TEST_KILL_WRITING`` to a piece of a file
name: the first write into a file whose path contains it writes half of its bytes, flushes
them and kills the process, as ``kill -9`` at that moment would.
"""
import builtins
import os
import signal

_PATTERN = os.environ.get('MMSELFKD_TEST_KILL_WRITING')


class _DyingFile:

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[:max(1, len(data) // 2)])
        self._file.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._file.__exit__(*exc)


if _PATTERN:
    _open = builtins.open

    def _open_and_die_on_write(file, mode='r', *args, **kwargs):
        handle = _open(file, mode, *args, **kwargs)
        writing = any(m in mode for m in 'wxa')
        if writing and isinstance(file, (str, os.PathLike)) and _PATTERN in os.fspath(file):
            return _DyingFile(handle)
        return handle

    builtins.open = _open_and_die_on_write
