"""Test helper imported by the 2-process FFSD run (tests/test_ffsd.py): every rank writes its
parameters and buffers, so the test can check that all optimizers stayed in sync."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SaveRankParamsHook(Hook):
    """After training, save ``rank{r}_params.pth`` (parameters, buffers, iterations)."""

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model

        # MMSeparateDistributedDataParallel wraps each child as ``<child>.module``
        def plain(name):
            return name.replace('.module.', '.')

        torch.save({
            'iters': runner.iter,
            'params': {plain(n): p.detach().cpu().clone() for n, p in model.named_parameters()},
            'buffers': {plain(n): b.cpu().clone() for n, b in model.named_buffers()},
        }, osp.join(runner.work_dir, f'rank{get_rank()}_params.pth'))
