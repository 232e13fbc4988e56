import os
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmselfkd.registry import HOOKS
from mmselfkd.utils.export import PARTS, export_state_dict
from mmselfkd.version import __version__


@HOOKS.register_module()
class ExportDeployableHook(Hook):
    """Write the deployable network beside every saved and best checkpoint.

    After ``CheckpointHook`` saves ``epoch_N.pth`` (or ``iter_N.pth``, or
    ``best_<metric>_epoch_N.pth``), this hook writes ``epoch_N_deploy.pth`` (and
    ``epoch_N_backbone.pth`` with ``parts=('model', 'backbone')``): exactly what
    ``tools/export.py CKPT OUT [--part backbone]`` writes, from the model in memory. When
    ``CheckpointHook`` removes an old checkpoint (``max_keep_ckpts``) or replaces the best
    one, the exports of the removed file are removed too.

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
        self._exports: Dict[str, list] = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._sync(runner)

    def after_train_epoch(self, runner) -> None:
        self._sync(runner)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._sync(runner)

    @staticmethod
    def export_path(checkpoint: str, part: str) -> str:
        suffix = '_deploy' if part == 'model' else '_backbone'
        return f'{osp.splitext(checkpoint)[0]}{suffix}.pth'

    @master_only
    def _sync(self, runner) -> None:
        info = runner.message_hub.runtime_info
        saved = [v for k, v in info.items() if k == 'last_ckpt' or k.startswith('best_ckpt')]
        for checkpoint in filter(None, saved):
            if checkpoint not in self._exports and osp.isfile(checkpoint):
                self._export(runner, checkpoint)
        for checkpoint in list(self._exports):
            if not osp.isfile(checkpoint):  # removed by CheckpointHook
                for path in self._exports.pop(checkpoint):
                    if osp.isfile(path):
                        os.remove(path)

    def _export(self, runner, checkpoint: str) -> None:
        from mmselfkd.utils.export import deploy_prefix
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        prefix = deploy_prefix(runner.cfg.get('model'))
        state = {'state_dict': model.state_dict()}
        written = []
        for part in self.parts:
            path = self.export_path(checkpoint, part)
            torch.save({
                'state_dict': export_state_dict(state, prefix, part),
                'meta': {'mmselfkd_version': __version__, 'part': part,
                         'source_checkpoint': osp.basename(checkpoint),
                         'stripped_prefix': prefix},
            }, path)
            written.append(path)
        self._exports[checkpoint] = written
        runner.logger.info(f'exported the deployable network of {osp.basename(checkpoint)}: '
                           + ', '.join(osp.basename(p) for p in written))
