"""Every shipped config loads and builds its model (no weights are downloaded)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmselfkd.utils.export import build_model_from_config

from conftest import REPO_ROOT  # noqa: E402

CONFIGS = sorted(
    osp.relpath(path, REPO_ROOT)
    for path in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in path)


def test_there_are_configs():
    assert 'configs/baseline/resnet18_cifar100.py' in CONFIGS


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds(config):
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    assert cfg.get('default_scope') in ('mmpretrain', 'mmseg', 'mmdet'), \
        f'{config}: default_scope must stay the host library'
    for field in ('model', 'train_dataloader', 'optim_wrapper', 'train_cfg'):
        assert field in cfg, f'{config} has no {field}'
    model = build_model_from_config(osp.join(REPO_ROOT, config))
    assert sum(p.numel() for p in model.parameters()) > 0
