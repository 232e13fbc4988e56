"""Fixes applied to MMEngine when mmselfkd is imported.

1. Atomic local writes: MMEngine writes checkpoints into their final path, so a kill during
   a save leaves a truncated file; :mod:`mmselfkd.utils.fileio` makes those writes atomic.
2. mmengine 0.10.7 cannot load its own checkpoints on torch >= 2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``. mmengine 0.10.7 (the last
release) calls ``torch.load`` without the flag, and Runner checkpoints hold non-tensor objects
(``mmengine.logging.HistoryBuffer`` in ``message_hub``), so ``--resume``, ``load_from`` and
``init_cfg=dict(type='Pretrained', ...)`` on a local Runner checkpoint fail with
``UnpicklingError: Weights only load failed``. mmengine fixed this on its main branch
(open-mmlab/mmengine#1670) but has not released it.

Importing :mod:`mmselfkd` re-registers mmengine's loader for **local files** so that it
loads with ``weights_only=False``. That unpickles arbitrary Python objects: only load
checkpoints you trust, as you would have with torch < 2.6. Remote (http, s3, ...) loaders
are left untouched. Checkpoints written by ``tools/export.py`` hold tensors and plain meta
only and load with ``weights_only=True`` anywhere, without this fix.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

from mmselfkd.utils.fileio import use_atomic_local_backend


def needs_weights_only_fix() -> bool:
    """True for torch >= 2.6 with an mmengine release that lacks the upstream fix."""
    import mmengine
    return (digit_version(torch.__version__.split('+')[0]) >= digit_version('2.6.0')
            and digit_version(mmengine.__version__) <= digit_version('0.10.7'))


def load_local_checkpoint(filename, map_location=None):
    """mmengine's ``load_from_local`` with ``weights_only=False`` (trusted local files)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def apply_checkpoint_compat():
    """Register :func:`load_local_checkpoint` as the loader for local paths if needed."""
    if needs_weights_only_fix():
        CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)


apply_checkpoint_compat()
use_atomic_local_backend()
