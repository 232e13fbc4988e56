import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.dist import is_main_process, master_only
from mmengine.hooks import CheckpointHook, Hook

from mmselfkd.registry import HOOKS
from mmselfkd.utils.export import PARTS, build_exports
from mmselfkd.utils.fileio import save_atomic


def checkpoint_folder(runner) -> str:
    """The folder the run's ``CheckpointHook`` saves into (the work dir unless configured)."""
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook) and hook.out_dir is not None:
            return osp.abspath(hook.out_dir)
    return osp.abspath(runner.work_dir)


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies in ``folder`` (after resolving links)."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def saved_checkpoints(runner) -> List[str]:
    """The latest and best checkpoints recorded by ``CheckpointHook`` in the message hub."""
    info = runner.message_hub.runtime_info
    return [v for k, v in info.items()
            if (k == 'last_ckpt' or k.startswith('best_ckpt')) and isinstance(v, str)]


@HOOKS.register_module()
class ExportDeployableHook(Hook):
    """Write the deployable network beside every saved and best checkpoint.

    After ``CheckpointHook`` saves ``epoch_N.pth`` (or ``iter_N.pth``, or
    ``best_<metric>_epoch_N.pth``), this hook writes ``epoch_N_deploy.pth`` (and
    ``epoch_N_backbone.pth`` with ``parts=('model', 'backbone')``): exactly what
    ``tools/export.py CKPT OUT [--part backbone]`` writes, read from the saved file. When
    ``CheckpointHook`` removes a checkpoint (``max_keep_ckpts``, a better best one), its
    exports are removed too.

    An export is written once, atomically, from the checkpoint it is named after, and never
    rewritten. When a run starts (a new run or a ``--resume``), the hook only checks the
    checkpoints already in the checkpoint folder: an export that is missing or cannot be
    loaded (a run killed while writing it) is written again from its checkpoint. Files
    outside the checkpoint folder (e.g. those of the run resumed with ``--work-dir new
    --resume old/epoch_2.pth``) are never written or removed.

    Args:
        parts: which exports to write, from ``('model', 'backbone')``. Defaults to
            ``('model',)``.
    """

    priority = 'LOWEST'  # after CheckpointHook ('VERY_LOW') has saved and recorded the file

    def __init__(self, parts: Sequence[str] = ('model', )):
        parts = tuple(parts)
        if not parts or any(p not in PARTS for p in parts):
            raise ValueError(f'ExportDeployableHook.parts must be a non-empty subset of '
                             f'{PARTS}, got {parts}')
        self.parts = parts
        self._exports: Dict[str, List[str]] = {}  # checkpoint -> its exports
        self._earlier: set = set()  # checkpoints recorded before this run started
        self._folder: Optional[str] = None

    @staticmethod
    def export_path(checkpoint: str, part: str) -> str:
        suffix = '_deploy' if part == 'model' else '_backbone'
        return f'{osp.splitext(checkpoint)[0]}{suffix}.pth'

    def before_train(self, runner) -> None:
        # runs after the Runner resumed and after CheckpointHook.before_train
        self._folder = checkpoint_folder(runner)
        self._earlier = set(saved_checkpoints(runner))
        if is_main_process():
            self._repair(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._sync(runner)

    def after_train_epoch(self, runner) -> None:
        self._sync(runner)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._sync(runner)

    def _checkpoint_names(self, runner) -> re.Pattern:
        template = 'epoch_{}.pth'
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                template = hook.filename_tmpl
        step = re.escape(template).replace(re.escape('{}'), r'\d+')
        return re.compile(rf'(best_.+_)?{step}')

    def _repair(self, runner) -> None:
        """Register the folder's checkpoints; rewrite their missing or broken exports."""
        if not osp.isdir(self._folder):
            return
        names = self._checkpoint_names(runner)
        for name in sorted(os.listdir(self._folder)):
            checkpoint = osp.join(self._folder, name)
            if not names.fullmatch(name) or not osp.isfile(checkpoint):
                continue
            broken = [part for part in self.parts
                      if not _loadable_export(self.export_path(checkpoint, part))]
            if broken:
                runner.logger.warning(
                    'missing or unreadable: '
                    + ', '.join(osp.basename(self.export_path(checkpoint, p)) for p in broken)
                    + f'; writing it again from {name}')
                self._write(runner, checkpoint, broken)
            self._exports[checkpoint] = [self.export_path(checkpoint, p) for p in self.parts]

    @master_only
    def _sync(self, runner) -> None:
        for checkpoint in saved_checkpoints(runner):
            if (checkpoint in self._exports or checkpoint in self._earlier
                    or not is_inside(checkpoint, self._folder) or not osp.isfile(checkpoint)):
                continue
            self._write(runner, checkpoint, self.parts)
            self._exports[checkpoint] = [self.export_path(checkpoint, p) for p in self.parts]
        for checkpoint in list(self._exports):
            if not osp.isfile(checkpoint):  # removed by CheckpointHook
                for path in self._exports.pop(checkpoint):
                    if osp.isfile(path):
                        os.remove(path)

    def _write(self, runner, checkpoint: str, parts: Sequence[str]) -> None:
        exports, _ = build_exports(checkpoint, parts)
        paths = [self.export_path(checkpoint, part) for part in parts]
        for part, path in zip(parts, paths):
            save_atomic(exports[part], path)
        runner.logger.info(f'exported the deployable network of {osp.basename(checkpoint)}: '
                           + ', '.join(osp.basename(p) for p in paths))


def _loadable_export(path: str) -> bool:
    """Whether ``path`` is a complete export (it loads with ``weights_only=True``)."""
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return False
    try:
        exported = torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # truncated or not a torch file
        return False
    return isinstance(exported, dict) and bool(exported.get('state_dict'))
