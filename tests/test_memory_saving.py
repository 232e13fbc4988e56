"""The memory-saving mode (``model.memory_saving=True``): the training-only modules are
recomputed in the backward pass, with the losses, gradients, BatchNorm statistics and random
numbers of the normal mode, exactly (float64)."""
import copy
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmselfkd.models.self_teachers import BiFPNSelfTeacher
from mmselfkd.models.utils import recompute_in_backward
from mmselfkd.registry import MODELS
from mmselfkd.utils.errors import ConfigError

from conftest import CONFIG_DIR, REPO_ROOT, build_model, cls_batch, loss_total  # noqa: E402


# ------------------------------------------------------------------------ the helper
def _conv_bn_dropout():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Dropout(0.5), nn.Conv2d(4, 2, 1)).double().train()


def _run(module, recompute):
    calls = []
    # a pre-hook: the recomputation stops as soon as it has what the backward pass needs,
    # before a forward hook would run
    handle = module.register_forward_pre_hook(lambda *args: calls.append(1))
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1),
                    requires_grad=True)
    torch.manual_seed(2)
    out = recompute_in_backward(module, x, modules=[module], enabled=recompute)
    out.pow(2).sum().backward()
    handle.remove()
    return dict(out=out.detach(), grads=[x.grad] + [p.grad for p in module.parameters()],
                buffers=[b.clone() for b in module.buffers()], rng=torch.get_rng_state(),
                calls=len(calls))


def test_recompute_keeps_outputs_gradients_statistics_and_random_numbers():
    """The recomputation in the backward pass (a second forward call) gives the outputs and
    gradients of the plain run, the same dropout mask, BatchNorm statistics updated once, and
    leaves the global random state where the plain run leaves it."""
    plain = _run(_conv_bn_dropout(), recompute=False)
    recomputed = _run(_conv_bn_dropout(), recompute=True)
    assert plain['calls'] == 1 and recomputed['calls'] == 2
    assert torch.equal(plain['out'], recomputed['out'])
    for a, b in zip(plain['grads'], recomputed['grads']):
        assert torch.equal(a, b)
    for a, b in zip(plain['buffers'], recomputed['buffers']):
        assert torch.equal(a, b)
    assert recomputed['buffers'][-1].item() == 1  # num_batches_tracked
    assert torch.equal(plain['rng'], recomputed['rng'])


def test_without_autograd_nothing_is_recomputed():
    module = _conv_bn_dropout()
    with torch.no_grad():
        out = recompute_in_backward(module, torch.zeros(1, 3, 4, 4, dtype=torch.float64),
                                    modules=[module])
    assert not out.requires_grad


# ---------------------------------------------------------------------- the algorithms
@MODELS.register_module()
class WholeBiFPNSelfTeacher(BiFPNSelfTeacher):
    """A self-teacher whose ``forward`` has no ``recompute`` argument."""

    def forward(self, features):
        return super().forward(features)


METHOD_CONFIGS = {
    # the BiFPN is recomputed node by node, its head on its own
    'frskd': ('frskd/resnet18_cifar100.py', {}, 'self_teacher.top_down_blocks.0'),
    'frskd_teacher_head': ('frskd/resnet18_cifar100.py', {}, 'teacher_head'),
    'frskd_sla': ('frskd/resnet18_cifar100_sla.py', {}, 'self_teacher.bottom_up_blocks.2'),
    # each block of the branches' stage copies on its own
    'mixskd': ('mixskd/resnet18_cifar100.py', {}, 'aux_branches.0.stages.0.1'),
    'mixskd_trained_self_teacher': ('mixskd/resnet18_cifar100.py',
                                    dict(mixup_cls_loss=True), 'self_teacher'),
    # a self-teacher whose forward takes no `recompute` is recomputed whole
    'frskd_other_self_teacher': ('frskd/resnet18_cifar100.py',
                                 dict(self_teacher=dict(type='mmselfkd.WholeBiFPNSelfTeacher')),
                                 'self_teacher'),
    'hssakd_online': ('hssakd/wrn40-2_cifar100_online.py', {}, 'peer.backbone.layer1'),
    'hssakd_online_deploy_peer': ('hssakd/wrn40-2_cifar100_online.py', dict(deploy='peer'),
                                  'student.backbone.layer1'),
    'hssakd_online_branches': ('hssakd/wrn40-2_cifar100_online.py', {},
                               'peer_branches.branches.0'),
    'hssakd_teacher_branches': ('hssakd/wrn40-2_cifar100_teacher.py', {},
                                'aux_branches.branches.0'),
    'ffsd': ('ffsd/resnet32_cifar100.py', {}, 'students.1'),
}


def _build(config, overrides, memory_saving):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.model.update(overrides, memory_saving=memory_saving)
    torch.manual_seed(0)
    return build_model(cfg.model, cfg.get('data_preprocessor')).double().train(), cfg


def _loss_and_backward(model, data, recomputed_module):
    calls = []
    handle = model.get_submodule(recomputed_module).register_forward_pre_hook(
        lambda *args: calls.append(1))
    np.random.seed(3)  # MixSKD's mixup coefficient
    torch.manual_seed(3)
    processed = model.data_preprocessor(copy.deepcopy(data), True)
    losses = model.loss(processed['inputs'], processed['data_samples'])
    forward_calls = len(calls)
    loss_total(losses).backward()
    handle.remove()
    return losses, forward_calls, len(calls) - forward_calls


def test_hssakd_online_keeps_the_deployed_peer(mmpretrain_scope):
    """Online, only the peer that is not deployed is recomputed: the deployed peer and its
    branches run once and keep their activations."""
    model, _ = _build('hssakd/wrn40-2_cifar100_online.py', {}, memory_saving=True)
    for module in ('student.backbone.layer1', 'aux_branches.branches.0'):
        _, calls, backward_calls = _loss_and_backward(model, cls_batch(4, 16), module)
        assert (calls, backward_calls) == (1, 0), module


@pytest.mark.parametrize('method', list(METHOD_CONFIGS))
def test_same_losses_gradients_and_statistics(method, mmpretrain_scope):
    config, overrides, recomputed_module = METHOD_CONFIGS[method]
    normal, cfg = _build(config, overrides, memory_saving=False)
    saving, _ = _build(config, overrides, memory_saving=True)
    for (name, a), b in zip(normal.state_dict().items(), saving.state_dict().values()):
        assert torch.equal(a, b), name
    data = cls_batch(4, 16)

    losses, calls, _ = _loss_and_backward(normal, data, recomputed_module)
    saved_losses, saved_calls, backward_calls = _loss_and_backward(saving, data,
                                                                   recomputed_module)
    # the training-only module runs again in the backward pass, and only then
    assert backward_calls >= saved_calls == calls >= 1
    assert list(losses) == list(saved_losses)
    for name in losses:
        assert torch.equal(losses[name], saved_losses[name]), name
    for (name, p), q in zip(normal.named_parameters(), saving.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        assert p.grad is None or torch.equal(p.grad, q.grad), name
    # BatchNorm statistics (and num_batches_tracked) are updated once, as in the normal mode
    for (name, a), b in zip(normal.named_buffers(), saving.buffers()):
        assert torch.equal(a, b), name

    # a full train_step (FFSD: four optimizers, four backward passes) changes the same way
    for model in (normal, saving):
        model.zero_grad(set_to_none=True)
        np.random.seed(4)
        torch.manual_seed(4)
        model.train_step(copy.deepcopy(data), build_optim_wrapper(model, cfg.optim_wrapper))
    for (name, a), b in zip(normal.state_dict().items(), saving.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize('value', ['yes', 1, None])
def test_switch_must_be_a_bool(value, mmpretrain_scope):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'ffsd/resnet32_cifar100.py'))
    cfg.model.memory_saving = value
    with pytest.raises(ConfigError, match='model.memory_saving must be True or False'):
        build_model(cfg.model, cfg.get('data_preprocessor'))


def _step_tensor_peak_mib(benchmark, memory_saving):
    """Peak memory of the tensors that one FRSKD training step allocates (batch 16, float32),
    measured by ``tools/benchmark.py --tensor-memory``'s own function."""
    model, cfg = _build('frskd/resnet18_cifar100.py', {}, memory_saving)
    model.float()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = cls_batch(16, 32)
    model.train_step(copy.deepcopy(data), optim_wrapper)  # optimizer state exists from now on
    return benchmark.step_tensor_peak_mib(model, data, optim_wrapper, 'cpu')


def test_frskd_self_teacher_is_never_alive_whole(mmpretrain_scope):
    """Recomputed node by node, the BiFPN's activations are never all alive at once: the
    peak falls by a third (measured: 212 against 323 MiB at batch 16). Recomputed in one
    piece, when the backward pass starts, it would not fall at all."""
    spec = importlib.util.spec_from_file_location('benchmark',
                                                  osp.join(REPO_ROOT, 'tools', 'benchmark.py'))
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    normal = _step_tensor_peak_mib(benchmark, False)
    saving = _step_tensor_peak_mib(benchmark, True)
    assert saving < 0.8 * normal, (saving, normal)
