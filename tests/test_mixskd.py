"""MixSKD (spec section 2): goldens (5.2), gradient routing (5.4), structure (5.3), mixup and
learning-rate schedule (5.5), train_step, export, and the shipped config through the tools."""
import copy
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper

CONFIG = 'configs/mixskd/resnet18_cifar100.py'
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# spec 2.3: MixSKD's CIFAR-100 normalisation, x255
MEAN = [129.310, 124.109, 112.404]
STD = [68.213, 65.407, 70.406]


def det(shape, phase=0.0, amp=1.0, freq=0.37):
    """Spec 5.1 deterministic generator (float64)."""
    k = torch.arange(math.prod(shape), dtype=torch.float64)
    return (amp * torch.sin(freq * k + phase)).reshape(shape)


def tiny_student(num_classes=10, stem_relu=False):
    """MixSKD's CIFAR ResNet-18 structure (2 blocks per stage, no stem ReLU) at width 8."""
    return dict(
        type='ImageClassifier',
        backbone=dict(type='mmselfkd.ResNet_CIFAR', depth=18, stem_channels=8,
                      base_channels=8, stem_relu=stem_relu, out_indices=(0, 1, 2, 3),
                      zero_init_residual=False, init_cfg=None),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=64,
                  init_cfg=None),
        data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=num_classes,
                               mean=MEAN, std=STD))


def build(cfg):
    from mmengine.registry import MODELS
    return MODELS.build(copy.deepcopy(cfg))


def tiny_mixskd(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='mmselfkd.MixSKD', student=tiny_student(), **kwargs)
    return build(cfg)


def batch(num=2, size=16, num_classes=10, seed=0):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen)
              for _ in range(num)]
    samples = [DataSample().set_gt_label(i % num_classes) for i in range(num)]
    return {'inputs': images, 'data_samples': samples}


# ----------------------------------------------------------------------------- goldens 5.2
def golden_terms(mixup_cls_loss):
    from mmselfkd.models.algorithms.mixskd import (build_discriminator, interpolate,
                                                   mixskd_losses)
    num, lam = 4, 0.3
    perm = torch.tensor([2, 0, 3, 1])
    labels = torch.tensor([1, 3, 5, 7])
    logits = [det((8, 10), 0.1 * k, 2 + k) for k in range(4)]
    features = [det((8, 6, 2, 2), 0.2 * k + 0.05, 1) for k in range(4)]
    discriminators = []
    for d in range(4):
        disc = build_discriminator(6, 128).double()
        with torch.no_grad():
            for p, (_, param) in enumerate(disc.named_parameters()):
                param.copy_(det(tuple(param.shape), 0.11 * d + 0.07 * p, 0.5))
        discriminators.append(disc)
    return mixskd_losses(
        logits, [interpolate(f[:num], lam, perm) for f in features],
        [f[num:] for f in features], det((4, 10), 2.0, 2.5), det((4, 10), 2.5, 2.5),
        labels, lam, perm, discriminators, temperature=3.0, mixup_cls_loss=mixup_cls_loss)


def total(losses):
    """What MMEngine back-propagates: the sum of the keys that contain 'loss'."""
    return sum(v for k, v in losses.items() if 'loss' in k)


@pytest.mark.parametrize('mixup_cls_loss', [False, True])
def test_goldens(mixup_cls_loss, mmpretrain_scope):
    with torch.no_grad():
        losses = golden_terms(mixup_cls_loss)
    approx = dict(rel=1e-6)
    cls = losses['loss_cls'] + sum(losses[f'stage{k}.loss_cls'] for k in (1, 2, 3))
    assert float(cls) == pytest.approx(15.6769450476, **approx)
    assert float(losses['distill.loss_kl_self_teacher'] + losses['distill.loss_kl_mutual']) \
        == pytest.approx(19.0176266778, **approx)
    assert float(losses['distill.loss_feature_mse']) == pytest.approx(3.4352792169, **approx)
    assert float(losses['distill.loss_discriminator_bce']) == pytest.approx(16.5647149086,
                                                                           **approx)
    mix_key = 'mixup.loss_cls' if mixup_cls_loss else 'mixup.ce'
    assert float(losses[mix_key]) == pytest.approx(21.0274602470, **approx)
    expected_total = 75.7220260979 if mixup_cls_loss else 54.6945658509
    assert float(total(losses)) == pytest.approx(expected_total, **approx)


# ----------------------------------------------------------------- structure (5.3, 2.2)
def test_parameter_counts_and_shapes_of_the_official_cifar_model(mmpretrain_scope):
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIG))
    model = build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor)).eval()

    def millions(module):
        return round(sum(p.numel() for p in module.parameters()) / 1e6, 3)

    assert millions(model.student) == 11.220
    assert millions(model.aux_branches) == 30.060
    assert millions(model.self_teacher) == 1.100
    assert [sum(p.numel() for p in d.parameters()) for d in model.discriminators] == [65922] * 4
    assert not model.student.backbone.stem_relu
    with torch.no_grad():
        stage_maps = model.student.extract_feat(torch.zeros(1, 3, 32, 32), stage='backbone')
        features, logits = model.extract_stages(torch.zeros(1, 3, 32, 32))
    assert [tuple(m.shape[1:]) for m in stage_maps] == [(64, 32, 32), (128, 16, 16),
                                                         (256, 8, 8), (512, 4, 4)]
    assert [tuple(f.shape[1:]) for f in features] == [(512, 4, 4)] * 4
    assert [tuple(z.shape) for z in logits] == [(1, 100)] * 4
    # each branch copies the remaining stages: A1 = 3 stages, A2 = 2, A3 = 1
    assert [len(b.stages) for b in model.aux_branches] == [3, 2, 1]


def test_stem_relu_option_keeps_mmpretrain_keys(mmpretrain_scope):
    stock_cfg = dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
                     out_indices=(3, ), init_cfg=None)
    stock = build(stock_cfg)
    ours_relu = build(dict(stock_cfg, type='mmselfkd.ResNet_CIFAR', stem_relu=True))
    ours_plain = build(dict(stock_cfg, type='mmselfkd.ResNet_CIFAR', stem_relu=False))
    for model in (ours_relu, ours_plain):
        model.load_state_dict(stock.state_dict(), strict=True)
    for model in (stock, ours_relu, ours_plain):
        model.eval()  # mmpretrain's ResNet.train returns None: no chaining
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(ours_relu(x)[0], stock(x)[0])
        assert not torch.allclose(ours_plain(x)[0], stock(x)[0])
        # without the ReLU the stem output reaches layer1 with its negative values
        stem = ours_plain.norm1(ours_plain.conv1(x))
        assert torch.equal(ours_plain.layer1(ours_plain.relu(stem)), ours_plain.layer1(stem))
        assert (stem < 0).any()


def test_aux_branches_are_initialised_like_the_backbone(mmpretrain_scope):
    # the official ImageNet code initialises its branch copies like the backbone (Kaiming);
    # the branches take the backbone's init_cfg, here a recognisable constant
    student = tiny_student()
    student['backbone']['init_cfg'] = dict(type='Constant', val=0.5, layer='Conv2d')
    model = build(dict(type='mmselfkd.MixSKD', student=student))
    model.init_weights()
    convs = [m for m in model.aux_branches.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(bool((m.weight == 0.5).all()) for m in convs)
    assert not bool((model.self_teacher.conv.weight == 0.5).all())


def test_bad_config_fails_at_build_time(mmpretrain_scope):
    student = tiny_student()
    student['backbone']['out_indices'] = (3, )
    with pytest.raises(ValueError, match='out_indices'):
        build(dict(type='mmselfkd.MixSKD', student=student))
    with pytest.raises(ValueError, match='mixup_alpha'):
        build(dict(type='mmselfkd.MixSKD', student=tiny_student(), mixup_alpha=0))
    augmented = tiny_student()
    augmented['train_cfg'] = dict(augments=[dict(type='Mixup', alpha=0.4)])
    with pytest.raises(ValueError, match='train_cfg.augments'):
        build(dict(type='mmselfkd.MixSKD', student=augmented))


def test_self_teacher_that_does_not_fit_the_student_is_a_config_error(mmpretrain_scope):
    from mmselfkd.utils.errors import ConfigError
    teacher = dict(type='mmselfkd.StageAggregator', num_classes=100)
    with pytest.raises(ConfigError, match=r'model.self_teacher.num_classes is 100, but MixSKD '
                       r"needs 10 \(the classes of model.student's head\)"):
        tiny_mixskd(self_teacher=teacher)
    teacher = dict(type='mmselfkd.StageAggregator', in_channels=[64, 64, 64])
    with pytest.raises(ConfigError, match=r'model.self_teacher.in_channels is \[64, 64, 64\], '
                       r'but MixSKD needs \[64, 64, 64, 64\]'):
        tiny_mixskd(self_teacher=teacher)


def test_batch_of_one_carries_no_mixup_signal(mmpretrain_scope):
    """``min_batch_size``: one image is mixed with itself, so the mutual KL and the feature
    term vanish (the pre-training check refuses ``train_dataloader.batch_size=1``)."""
    from mmselfkd.models.algorithms import FFSD, FRSKD, HSSAKD
    from mmselfkd.models.algorithms.base import BaseSelfKDAlgorithm
    from mmselfkd.models.algorithms.mixskd import MixSKD
    assert BaseSelfKDAlgorithm.min_batch_size == 1
    assert MixSKD.min_batch_size == 2
    assert FFSD.min_batch_size == FRSKD.min_batch_size == HSSAKD.min_batch_size == 1
    model = tiny_mixskd().train()
    for num, vanishes in ((1, True), (4, False)):
        np.random.seed(0)
        torch.manual_seed(0)
        data = model.data_preprocessor(batch(num=num), True)
        losses = model.loss(data['inputs'], data['data_samples'])
        for name in ('distill.loss_kl_mutual', 'distill.loss_feature_mse'):
            assert (float(losses[name]) < 1e-8) == vanishes, (num, name)


# ------------------------------------------------------------------------------ mixup 5.5
def test_mixup_identity_and_one_forward_over_both_halves(mmpretrain_scope):
    model = tiny_mixskd().train()
    data = model.data_preprocessor(batch(num=3), True)
    inputs, num = data['inputs'], 3
    calls = []
    model.student.backbone.register_forward_hook(lambda m, args, out: calls.append(args[0]))

    np.random.seed(7)
    torch.manual_seed(7)
    model.loss(inputs, data['data_samples'])
    np.random.seed(7)
    torch.manual_seed(7)
    lam = np.random.beta(0.4, 0.4)
    perm = torch.randperm(num)

    assert len(calls) == 1 and calls[0].shape[0] == 2 * num
    assert torch.equal(calls[0][:num], inputs)
    torch.testing.assert_close(calls[0][num:], lam * inputs + (1 - lam) * inputs[perm],
                               rtol=0, atol=1e-6)


# --------------------------------------------------------------------- gradient routing 5.4
def test_gradient_routing_official_cifar_mode(mmpretrain_scope):
    model = tiny_mixskd().train()
    data = model.data_preprocessor(batch(num=2), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert 'mixup.ce' in losses and 'mixup.loss_cls' not in losses
    assert not losses['mixup.ce'].requires_grad  # logged, out of the graph
    total(losses).backward()
    assert all(p.grad is None for p in model.self_teacher.parameters())
    assert all(p.grad is None for p in model.discriminators.parameters())
    assert all(p.grad is not None for p in model.aux_branches.parameters())
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0

    from mmselfkd.models.algorithms.mixskd import discriminator_bce
    interpolated = torch.randn(2, 64, 2, 2, requires_grad=True)
    mixed = torch.randn(2, 64, 2, 2, requires_grad=True)
    grads = torch.autograd.grad(discriminator_bce(model.discriminators[0], interpolated, mixed),
                                [interpolated, mixed])
    assert all(g.abs().sum() > 0 for g in grads)
    grads = torch.autograd.grad(F.mse_loss(interpolated, mixed), [interpolated, mixed])
    assert all(g.abs().sum() > 0 for g in grads)


def test_feature_mse_reaches_both_sides_inside_the_algorithm(mmpretrain_scope):
    from mmselfkd.models.algorithms import mixskd as module
    model = tiny_mixskd().train()
    data = model.data_preprocessor(batch(num=2), True)
    captured = {}
    original = module.mixskd_losses

    def keep_features(*args, **kwargs):
        captured['interpolated'], captured['mixed'] = args[1], args[2]
        return original(*args, **kwargs)

    module.mixskd_losses = keep_features
    try:
        losses = model.loss(data['inputs'], data['data_samples'])
    finally:
        module.mixskd_losses = original
    grads = torch.autograd.grad(losses['distill.loss_feature_mse'],
                                [captured['interpolated'][0], captured['mixed'][0]])
    assert all(g.abs().sum() > 0 for g in grads)


def test_train_step_with_optim_wrapper_official_cifar_mode(mmpretrain_scope):
    model = tiny_mixskd()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                           weight_decay=5e-4, nesterov=True))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log_vars = model.train_step(batch(num=2), wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert {'loss_cls', 'stage1.loss_cls', 'distill.loss_kl_self_teacher',
            'distill.loss_kl_mutual', 'distill.loss_feature_mse',
            'distill.loss_discriminator_bce', 'mixup.ce'} <= set(log_vars)
    after = model.state_dict()
    for key in before:
        if key.startswith(('self_teacher.', 'discriminators.')):
            assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before['student.backbone.conv1.weight'],
                           after['student.backbone.conv1.weight'])
    assert not torch.equal(before['aux_branches.0.fc.weight'], after['aux_branches.0.fc.weight'])


def test_switches_train_self_teacher_and_discriminators(mmpretrain_scope):
    model = tiny_mixskd(mixup_cls_loss=True, train_discriminators=True)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log_vars = model.train_step(batch(num=2), wrapper)
    assert 'mixup.loss_cls' in log_vars and 'mixup.ce' not in log_vars
    after = model.state_dict()
    for key in ('self_teacher.conv.weight', 'self_teacher.fc.weight',
                'discriminators.0.0.weight', 'discriminators.3.2.bias'):
        assert not torch.equal(before[key], after[key]), key


# ------------------------------------------------------------------------ schedule 5.5
def official_lr(epoch, step, iters_per_epoch, base=0.1, warmup=5, milestones=(100, 150)):
    """Self-KD-Lib adjust_lr with the MixSKD CIFAR defaults (spec 2.6)."""
    if epoch < warmup:
        return base * (1 + step + epoch * iters_per_epoch) / (warmup * iters_per_epoch)
    return base * 0.1 ** sum(epoch - warmup >= m for m in milestones)


def official_imagenet_lr(epoch, step, iters_per_epoch, base=0.1, warmup=5, epochs=305):
    """main_mixskd_imagenet.py adjust_lr, cosine over ``epochs - warmup`` (spec 2.6, 2.9.9)."""
    if epoch < warmup:
        return base * (1 + step + epoch * iters_per_epoch) / (warmup * iters_per_epoch)
    return base * 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / (epochs - warmup)))


def simulate_schedule(cfg, iters_per_epoch, max_epochs):
    """The learning rate of every iteration, stepping the shipped schedulers as MMEngine's
    ParamSchedulerHook does (iteration-based after each iteration, epoch-based after each
    epoch), built through the registry as the Runner builds them."""
    from mmengine.registry import PARAM_SCHEDULERS
    param = torch.nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(torch.optim.SGD([param], **{
        k: v for k, v in cfg.optim_wrapper.optimizer.items() if k != 'type'}))
    schedulers = [PARAM_SCHEDULERS.build(dict(s), default_args=dict(
        optimizer=wrapper, epoch_length=iters_per_epoch)) for s in cfg.param_scheduler]
    assert [s.by_epoch for s in schedulers] == [False, True]
    lrs = {}
    for epoch in range(max_epochs):
        for step in range(iters_per_epoch):
            lrs[epoch, step] = wrapper.get_lr()['lr'][0]
            wrapper.step()  # no gradients: a no-op that only advances the step counter
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
        for s in schedulers:
            if s.by_epoch:
                s.step()
    return lrs


def test_shipped_lr_schedule_matches_official(mmpretrain_scope):
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIG))
    # the warm-up and the first epoch after it at the real length (50000 / 64 -> 782)
    lrs = simulate_schedule(cfg, 782, 6)
    assert lrs == pytest.approx({k: official_lr(*k, 782) for k in lrs}, rel=1e-12)
    # spec 5.5 prints the first value truncated to 2.557e-5: it is 0.1 / 3910 = 2.5575e-5
    assert lrs[0, 0] == pytest.approx(0.1 / 3910, rel=1e-12)
    assert lrs[0, 0] == pytest.approx(2.557e-5, abs=1e-8)
    assert lrs[4, 781] == lrs[5, 0] == 0.1
    # all 205 epochs, every iteration, at a short epoch length
    lrs = simulate_schedule(cfg, 3, cfg.train_cfg.max_epochs)
    assert len(lrs) == 205 * 3
    assert lrs == pytest.approx({k: official_lr(*k, 3) for k in lrs}, rel=1e-12)
    assert [lrs[e, 0] for e in (104, 105, 154, 155, 204)] == pytest.approx(
        [0.1, 0.01, 0.01, 0.001, 0.001], rel=1e-12)


def test_imagenet_lr_schedule_matches_official(mmpretrain_scope):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/mixskd/resnet50_imagenet.py'))
    lrs = simulate_schedule(cfg, 2, cfg.train_cfg.max_epochs)
    assert len(lrs) == 305 * 2
    # MMEngine chains its cosine from epoch to epoch: equal up to rounding
    assert lrs == pytest.approx({k: official_imagenet_lr(*k, 2) for k in lrs}, rel=1e-12)


# ------------------------------------------------------------------- predict and export
def test_val_heads_and_export_equality(mmpretrain_scope):
    from mmselfkd.evaluation.metrics import MultiHeadAccuracy
    model = tiny_mixskd(val_heads=True)
    # train a step so that BN statistics and weights are not at their initial values
    model.train_step(batch(num=4, seed=1), OptimWrapper(torch.optim.SGD(model.parameters(),
                                                                       lr=0.1)))
    model.eval()
    data = model.data_preprocessor(batch(num=4, seed=2), False)
    with torch.no_grad():
        predictions = model(data['inputs'], copy.deepcopy(data['data_samples']),
                            mode='predict')
        stage_logits = model.extract_stages(data['inputs'])[1]
    for k in range(3):
        expected = F.softmax(stage_logits[k], dim=1)
        got = torch.stack([p.get(f'stage{k + 1}_score') for p in predictions])
        torch.testing.assert_close(got, expected)
    metric = MultiHeadAccuracy(heads=['stage1', 'stage2', 'stage3'])
    metric.process(None, [p.to_dict() for p in predictions])
    assert set(metric.compute_metrics(metric.results)) == {
        'stage1_top1', 'stage2_top1', 'stage3_top1', 'best_top1'}

    # the deploy-prefix part of the state dict is a plain ImageClassifier's state dict
    prefix = type(model).deploy_prefix(dict(type='mmselfkd.MixSKD'))
    deployed = {k[len(prefix):]: v for k, v in model.state_dict().items()
                if k.startswith(prefix)}
    plain = build(tiny_student()).eval()
    plain.load_state_dict(deployed, strict=True)
    with torch.no_grad():
        plain_predictions = plain(data['inputs'], copy.deepcopy(data['data_samples']),
                                  mode='predict')
    for ours, theirs in zip(predictions, plain_predictions):
        assert torch.equal(ours.pred_score, theirs.pred_score)


# ---------------------------------------------------------------------- tools end to end
@pytest.mark.slow
def test_shipped_config_through_the_tools(tmp_path, tiny_cifar100, cifar_options,
                                          tool_runner, mmpretrain_scope):
    work_dir = str(tmp_path / 'work')
    # the official architecture on 4 images, batch 2 (4 rows per forward)
    shrink = [f'{loader}.dataset.indices=4'
              for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    opts = cifar_options(tiny_cifar100, batch_size=2, max_epochs=1) + shrink
    # the first epoch is a 2-process (gloo) run: frozen self-teacher and discriminators must
    # not trip DDP, and its checkpoint must resume in one process
    proc = tool_runner(['tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir,
                        '--cfg-options', *opts], env={'PORT': '29641'})
    log = proc.stdout + proc.stderr
    assert 'distill.loss_kl_self_teacher' in log and 'heads/best_top1' in log
    assert 'Distributed training: True' in log

    opts2 = cifar_options(tiny_cifar100, batch_size=2, max_epochs=2) + shrink
    proc = tool_runner(['tools/train.py', CONFIG, '--work-dir', work_dir, '--resume',
                        '--cfg-options', *opts2])
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    assert ckpt.endswith('epoch_2.pth')

    proc = tool_runner(['tools/test.py', CONFIG, ckpt, '--work-dir', work_dir,
                        '--cfg-options', *opts])
    log = proc.stdout + proc.stderr
    assert 'accuracy/top1' in log and 'heads/best_top1' in log

    out = str(tmp_path / 'plain.pth')
    tool_runner(['tools/export.py', ckpt, out])
    exported = torch.load(out, weights_only=True)['state_dict']
    assert exported and not any(k.startswith(('student.', 'aux_branches.', 'self_teacher.',
                                              'discriminators.')) for k in exported)

    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIG))
    student_cfg = dict(cfg.model.student, data_preprocessor=cfg.data_preprocessor)
    plain = build(student_cfg).eval()
    assert type(plain).__name__ == 'ImageClassifier'
    plain.load_state_dict(exported, strict=True)
    trained = build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor)).eval()
    trained.load_state_dict(torch.load(ckpt, weights_only=False)['state_dict'], strict=True)
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    data = plain.data_preprocessor({'inputs': images}, False)
    with torch.no_grad():
        scores = [p.pred_score for p in plain(data['inputs'], mode='predict')]
        expected = [p.pred_score for p in trained(data['inputs'], mode='predict')]
    for a, b in zip(scores, expected):
        assert torch.equal(a, b)
