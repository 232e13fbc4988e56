"""Choose the checkpoint that ``tools/train.py --resume`` resumes from."""
import os
import os.path as osp
import re
from typing import Callable, Optional

import torch

from mmselfkd.utils.errors import SetupError

_NUMBERED = re.compile(r'(epoch|iter)_(\d+)\.pth')


def load_error(path: str) -> Optional[str]:
    """Why ``path`` is not a loadable Runner checkpoint, or None when it is."""
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    except Exception as error:  # truncated, empty, not a torch file, unpickling failure
        return f'{type(error).__name__}: {error}'.splitlines()[0][:200]
    if not (isinstance(checkpoint, dict) and 'state_dict' in checkpoint
            and 'meta' in checkpoint):
        return 'not a training checkpoint (no state_dict and meta)'
    return None


def check_resume_checkpoint(path: str) -> None:
    """Raise a :class:`SetupError` unless ``path`` (given to ``--resume``) can be resumed."""
    if not osp.isfile(path):
        raise SetupError(f'--resume {path}: no such file')
    error = load_error(path)
    if error:
        raise SetupError(f'--resume {path}: cannot be loaded ({error})')


def find_resume_checkpoint(work_dir: str, warn: Callable[[str], None] = print) -> Optional[str]:
    """The newest loadable checkpoint of ``work_dir``, for ``--resume`` without a path.

    The file named in ``work_dir/last_checkpoint`` comes first (as in MMEngine); when it
    lies outside ``work_dir`` (a copied work dir) and ``work_dir`` holds a file of the same
    name, that copy is used. Then every ``epoch_N.pth`` / ``iter_N.pth`` of ``work_dir``,
    newest first. A candidate that cannot be loaded (e.g. truncated by a kill) is skipped
    with a warning naming it. Returns None when ``work_dir`` holds no checkpoint at all;
    raises :class:`SetupError` when it holds some but none loads.
    """
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            recorded = f.read().strip()
        if recorded:
            copy = osp.join(work_dir, osp.basename(recorded))
            if osp.abspath(osp.dirname(recorded)) != osp.abspath(work_dir) and osp.isfile(copy):
                recorded = copy
            candidates.append(recorded)
    numbered = []
    if osp.isdir(work_dir):
        for name in os.listdir(work_dir):
            match = _NUMBERED.fullmatch(name)
            if match:
                numbered.append((int(match.group(2)), osp.join(work_dir, name)))
    candidates += [path for _, path in sorted(numbered, reverse=True)]
    tried = set()
    for path in candidates:
        key = osp.abspath(path)
        if key in tried:
            continue
        tried.add(key)
        error = 'no such file' if not osp.isfile(path) else load_error(path)
        if error is None:
            return path
        warn(f'warning: --resume skips {path}: cannot be loaded ({error})')
    if tried:
        raise SetupError(f'--resume: no checkpoint in {work_dir} can be loaded (tried '
                         f'{", ".join(sorted(tried))}); start a new run in another work dir')
    return None
