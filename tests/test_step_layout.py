"""The memory format of a training step (``model.channels_last``): on the CPU by default, every
convolution of every method's step (networks, branches, self-teachers, fusion and
self-distillation modules) sees channels-last maps, converted once at the entry of the
step, except MixSKD's stages that end below 8x8 (contiguous, measured faster); the
parameters keep their format; the losses are those of the contiguous step."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmselfkd.utils.errors import ConfigError

from conftest import CONFIG_DIR, build_model, cls_batch  # noqa: E402

CONFIGS = ['frskd/resnet18_cifar100.py', 'frskd/resnet18_cifar100_sla.py',
           'mixskd/resnet18_cifar100.py', 'hssakd/wrn40-2_cifar100_online.py',
           'ffsd/resnet32_cifar100.py']


def _step(config, channels_last):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    if channels_last is not None:
        cfg.model.channels_last = channels_last
    torch.manual_seed(0)
    model = build_model(cfg.model, cfg.get("data_preprocessor")).train()
    formats = []

    def record(module, args, output):
        if args[0].dim() == 4:
            formats.append((min(output.shape[-2:]),
                            args[0].is_contiguous(memory_format=torch.channels_last),
                            args[0].is_contiguous()))
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            module.register_forward_hook(record)
    np.random.seed(0)
    torch.manual_seed(0)
    data = model.data_preprocessor(cls_batch(2, 32), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    params = {name: p.is_contiguous() for name, p in model.named_parameters()}
    return losses, formats, params


@pytest.mark.parametrize('config', CONFIGS)
def test_every_convolution_runs_in_the_step_format(config, mmpretrain_scope):
    default, formats, params = _step(config, None)  # CPU: channels-last
    small_maps_contiguous = config.startswith('mixskd')
    assert formats
    for output_size, channels_last, plain in formats:
        if small_maps_contiguous and output_size < 8:
            assert plain, formats
        else:
            assert channels_last, formats
    assert all(params.values())  # the parameters stay contiguous
    contiguous, formats, _ = _step(config, False)
    assert formats and all(plain for _, _, plain in formats), formats
    assert list(default) == list(contiguous)
    for name in default:
        # float32 convolutions in another memory format: another summation order
        torch.testing.assert_close(default[name], contiguous[name], rtol=1e-4, atol=1e-6,
                                   msg=name)


def test_switch_is_checked(mmpretrain_scope):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'mixskd/resnet18_cifar100.py'))
    cfg.model.channels_last = 'cpu'
    with pytest.raises(ConfigError, match='model.channels_last must be None'):
        build_model(copy.deepcopy(cfg.model), cfg.get('data_preprocessor'))
