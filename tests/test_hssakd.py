"""HSSAKD (spec section 3): goldens of 5.2, gradient routing of 5.4, branch shapes and
parameter counts of 3.3, train_step, export equality, end-to-end tool runs."""
import copy
import glob
import math
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from mmselfkd.models.algorithms.base import model_config_from_file
from mmselfkd.models.algorithms.hssakd import (HSSAKD, NetOutputs, offline_losses,
                                               online_losses)
from mmselfkd.models.aux_branches import HSSAKDBranches
from mmselfkd.models.backbones import (CIFARMobileNetV2, CIFARResNet, CIFARShuffleNetV1,
                                       CIFARShuffleNetV2, CIFARVGG, WideResNet)
from mmselfkd.models.utils import joint_labels, rotate_batch

CFG = 'configs/hssakd'


def det(shape, phase=0.0, amp=1.0, freq=0.37):
    """Spec 5.1 generator, float64."""
    k = torch.arange(math.prod(shape), dtype=torch.float64)
    return (amp * torch.sin(freq * k + phase)).reshape(shape)


def rel(value, expected):
    return abs(float(value) - expected) / abs(expected)


def golden_net(n):
    return NetOutputs(det((8, 5), 0.3 * n, 2), [det((8, 20), 0.5 * n + 0.1 * l, 2)
                                                 for l in range(3)])


def head_ce(num_classes=5):
    """The host head's CE, as the algorithm uses it (mmpretrain CrossEntropyLoss)."""
    from mmpretrain.models.heads import LinearClsHead
    head = LinearClsHead(num_classes=num_classes, in_channels=4)
    return HSSAKD._cls_loss(SimpleNamespace(head=head))


# ----------------------------------------------------------------------------- goldens (5.2)
def test_rotation_golden():
    assert joint_labels(torch.tensor([1, 4])).tolist() == [4, 5, 6, 7, 16, 17, 18, 19]
    x = det((2, 1, 3, 3))
    rotated = rotate_batch(x)
    expected = [0.674288, 0.961275, 0.180596, 0.361615, 0.995881, 0.524044, 0.0, 0.895699,
                0.796565]
    assert torch.allclose(rotated[1].flatten(), torch.tensor(expected, dtype=torch.float64),
                          atol=1e-6)
    # interleaved order [x0r0, x0r1, x0r2, x0r3, x1r0, ...]
    for b in range(2):
        for k in range(4):
            assert torch.equal(rotated[4 * b + k], torch.rot90(x[b], k, (1, 2)))


def test_online_golden(mmpretrain_scope):
    y = torch.tensor([1, 4])
    losses = online_losses(golden_net(0), golden_net(1), y, 3.0, (head_ce(), head_ce()))
    l_cls = (losses['loss_cls'] + losses['aux.loss_joint'] + losses['peer.loss_cls'] +
             losses['peer.aux.loss_joint'])
    l_div = losses['distill.loss_kl'] + losses['distill.loss_kl_aux']
    assert rel(l_cls, 27.9064673702) < 1e-6
    assert rel(l_div, 1.3909206854) < 1e-6
    # the default plain CE gives the same value as the head's loss module
    plain = online_losses(golden_net(0), golden_net(1), y, 3.0)
    assert rel(plain['loss_cls'] + plain['peer.loss_cls'],
               float(losses['loss_cls'] + losses['peer.loss_cls'])) < 1e-12


def test_online_loss_is_symmetric_in_the_peers():
    y = torch.tensor([1, 4])
    ab = online_losses(golden_net(0), golden_net(1), y, 3.0)
    ba = online_losses(golden_net(1), golden_net(0), y, 3.0)
    assert rel(sum(ba.values()), float(sum(ab.values()))) < 1e-6
    assert rel(ba['loss_cls'], float(ab['peer.loss_cls'])) < 1e-12


def test_offline_golden(mmpretrain_scope):
    teacher = NetOutputs(det((8, 5), 1.7, 2), [det((8, 20), 1.9 + 0.1 * l, 2) for l in range(3)])
    losses = offline_losses(golden_net(0), teacher, torch.tensor([1, 4]), 3.0, head_ce())
    assert set(losses) == {'loss_cls', 'distill.loss_kl', 'distill.loss_kl_aux'}
    assert rel(sum(losses.values()), 10.2559210706) < 1e-6


# ------------------------------------------------------------------ branches (3.3 table)
# (network, params of network + FC, params of the branches: spec 3.3 / the official classes;
# FC width, number of branches, official init of the branch classifiers)
OFFICIAL_BRANCHES = {
    'resnet56': (lambda: CIFARResNet(56), 861_620, 2_206_064, 64, 3, 'zero_bias'),
    'resnet20': (lambda: CIFARResNet(20), 278_324, 762_992, 64, 3, 'zero_bias'),
    'resnet32x4': (lambda: CIFARResNet(32, 32, (64, 128, 256)), 7_433_860, 18_907_056, 256, 3,
                   'zero_bias'),
    'resnet8x4': (lambda: CIFARResNet(8, 32, (64, 128, 256)), 1_233_540, 3_557_296, 256, 3,
                  'zero_bias'),
    'wrn40-2': (lambda: WideResNet(40, 2), 2_255_156, 5_769_328, 128, 3, 'zero_bias'),
    'wrn16-2': (lambda: WideResNet(16, 2), 703_284, 1_928_304, 128, 3, 'zero_bias'),
    'wrn40-1': (lambda: WideResNet(40, 1), 569_780, 1_484_432, 64, 3, 'zero_bias'),
    'vgg13': (lambda: CIFARVGG(13, out_indices=(0, 1, 2, 3)), 9_462_180, 37_049_664, 512, 4,
              'default'),
    'mobilenetv2': (lambda: CIFARMobileNetV2(out_indices=(0, 1, 2, 3)), 812_836, 4_671_496,
                    1280, 4, 'normal'),
    'shufflev1': (lambda: CIFARShuffleNetV1(out_indices=(0, 1, 2)), 949_258, 3_118_740, 960,
                  3, 'zero_bias'),
    'shufflev2': (lambda: CIFARShuffleNetV2(out_indices=(0, 1, 2)), 1_355_528, 4_519_988, 1024,
                  3, 'default'),
    # RepDistiller's CIFAR ResNet50 = mmpretrain's ResNet_CIFAR(50)
    'resnet50': (lambda: _mmpretrain_resnet_cifar(50), 23_705_252, 76_976_704, 2048, 4,
                 'default'),
}


def _mmpretrain_resnet_cifar(depth):
    from mmpretrain.models import ResNet_CIFAR
    return ResNet_CIFAR(depth, out_indices=(0, 1, 2, 3), zero_init_residual=False)


@pytest.mark.parametrize('name', sorted(OFFICIAL_BRANCHES))
def test_branch_parameter_counts(name):
    build, backbone_params, aux_params, channels, num_branches, fc_init = OFFICIAL_BRANCHES[name]
    net = build()
    branches = HSSAKDBranches(net, num_classes=100, fc_init=fc_init)
    with_fc = sum(p.numel() for p in net.parameters()) + channels * 100 + 100
    assert with_fc == backbone_params
    assert sum(p.numel() for p in branches.parameters()) == aux_params
    assert len(branches) == num_branches
    assert all(b.fc.out_features == 400 for b in branches.branches)
    for branch in branches.branches:
        assert torch.equal(branch.fc.bias, torch.zeros(400)) == (fc_init != 'default')
        assert (abs(branch.fc.weight.std().item() - 0.01) < 0.001) == (fc_init == 'normal')
    assert ('norm' in branches.branches[0]._modules) == name.startswith('wrn')
    assert ('end' in branches.branches[0]._modules) == (name in ('mobilenetv2', 'shufflev2'))
    if name in ('mobilenetv2', 'shufflev2'):
        with pytest.raises(ValueError, match='final_norm=True does not apply'):
            HSSAKDBranches(net, num_classes=100, final_norm=True)


@pytest.mark.parametrize('depth,backbone_params,aux_params', [
    (18, 11_689_512, 47_555_456), (34, 21_797_672, 76_474_240)])
def test_imagenet_resnet_branches_match_the_official(mmpretrain_scope, depth, backbone_params,
                                                     aux_params):
    """``resnet{18,34}_imagenet_aux`` (counted with the official classes): 4 branches on an
    mmpretrain ResNet, He fan-out convs, BN 1/0, default-init classifiers."""
    from mmpretrain.models import ResNet
    torch.manual_seed(0)
    net = ResNet(depth, out_indices=(0, 1, 2, 3))
    branches = HSSAKDBranches(net, num_classes=1000, fc_init='default')
    assert sum(p.numel() for p in net.parameters()) + 512 * 1000 + 1000 == backbone_params
    assert sum(p.numel() for p in branches.parameters()) == aux_params
    assert len(branches) == 4 and list(branches.branches[3]._modules)[0] == 'stage3'
    conv = branches.branches[0].stage1[0].conv1  # 3x3, 128 out: std sqrt(2 / (9 * 128))
    assert abs(conv.weight.std().item() - (2 / (9 * 128))**0.5) < 0.002
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) and not m.bias.any()
               for m in branches.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert all(b.fc.bias.abs().max() > 0 for b in branches.branches)
    net.eval()  # mmpretrain's ResNet.train() returns None
    with torch.no_grad():
        logits = branches(net(torch.randn(1, 3, 64, 64)))
    assert [tuple(q.shape) for q in logits] == [(1, 4000)] * 4


@pytest.mark.parametrize('backbone,channels', [
    (lambda: CIFARResNet(20), 64),
    (lambda: CIFARResNet(8, 32, (64, 128, 256)), 256),
    (lambda: WideResNet(16, 2), 128),
])
def test_branch_output_shapes_at_32x32(backbone, channels):
    net = backbone().eval()
    branches = HSSAKDBranches(net, num_classes=100).eval()
    with torch.no_grad():
        _, stages = net.forward_stages(torch.randn(1, 3, 32, 32))
        for branch, tap in zip(branches.branches, stages):
            assert tuple(branch[:-3](tap).shape) == (1, channels, 8, 8)  # before GAP
        assert [tuple(q.shape) for q in branches(stages)] == [(1, 400)] * 3


# ---------------------------------------------------------------- algorithm (tiny models)
def classifier_cfg():
    return dict(type='ImageClassifier',
                backbone=dict(type='mmselfkd.CIFARResNet', depth=8),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=100, in_channels=64))


def wrn_cfg():
    return dict(type='ImageClassifier',
                backbone=dict(type='mmselfkd.WideResNet', depth=10, widen_factor=1),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=100, in_channels=64))


BRANCHES = dict(type='mmselfkd.HSSAKDBranches', num_classes=100)
PREPROCESSOR = dict(type='ClsDataPreprocessor',
                    mean=[129.3105, 124.1085, 112.404], std=[68.2125, 65.4075, 70.4055])


def build(**kwargs):
    from mmengine.registry import MODELS
    cfg = dict(type='mmselfkd.HSSAKD', student=classifier_cfg(), aux_branches=BRANCHES,
               data_preprocessor=PREPROCESSOR)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def batch(num=2, size=16, seed=0):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
              for _ in range(num)]
    samples = [DataSample().set_gt_label(i * 7 % 100) for i in range(num)]
    return dict(inputs=images, data_samples=samples)


def run_loss(model, data=None):
    data = model.data_preprocessor(data or batch(), True)
    return model(data['inputs'], data['data_samples'], mode='loss')


def save_teacher(tmp_path, student_cfg=None):
    teacher = build(mode='teacher', student=student_cfg or classifier_cfg())
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, path)
    return teacher, path


def test_online_loss_keys_and_swap_symmetry(mmpretrain_scope):
    model = build(mode='online').train()
    losses = run_loss(model)
    assert set(losses) == {'loss_cls', 'aux.loss_joint', 'peer.loss_cls',
                           'peer.aux.loss_joint', 'distill.loss_kl', 'distill.loss_kl_aux'}
    swapped = build(mode='online').train()
    swapped.student.load_state_dict(model.peer.state_dict())
    swapped.peer.load_state_dict(model.student.state_dict())
    swapped.aux_branches.load_state_dict(model.peer_branches.state_dict())
    swapped.peer_branches.load_state_dict(model.aux_branches.state_dict())
    swapped_losses = run_loss(swapped)
    assert torch.allclose(sum(swapped_losses.values()), sum(losses.values()), rtol=1e-5)
    assert torch.allclose(swapped_losses['loss_cls'], losses['peer.loss_cls'], rtol=1e-5)
    assert not torch.allclose(losses['loss_cls'], losses['peer.loss_cls'])


def test_online_aux_losses_train_the_backbones(mmpretrain_scope):
    """Online branches see undetached features: the joint CE reaches both backbones."""
    model = build(mode='online').train()
    losses = run_loss(model)
    (losses['aux.loss_joint'] + losses['peer.aux.loss_joint']).backward()
    for net in (model.student, model.peer):
        assert net.backbone.conv1.weight.grad.abs().sum() > 0
        assert net.head.fc.weight.grad is None


def test_offline_teacher_frozen_in_eval_without_grad(tmp_path, mmpretrain_scope):
    teacher, path = save_teacher(tmp_path)
    model = build(mode='offline', teacher=classifier_cfg(), teacher_checkpoint=path)
    for name, value in teacher.student.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[name], value)
    model.train()
    assert not model.teacher.training and not model.teacher_branches.training
    assert model.student.training and model.aux_branches.training
    losses = run_loss(model)
    assert set(losses) == {'loss_cls', 'distill.loss_kl', 'distill.loss_kl_aux'}
    sum(losses.values()).backward()
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert all(p.grad is None for p in model.teacher_branches.parameters())
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.aux_branches.branches[0].fc.weight.grad.abs().sum() > 0
    # the teacher's BN statistics are not updated by training forwards
    before = model.teacher.backbone.bn1.running_mean.clone()
    run_loss(model)
    assert torch.equal(model.teacher.backbone.bn1.running_mean, before)
    # the Runner's init_weights() must not overwrite the loaded teacher
    model.init_weights()
    assert torch.equal(model.teacher.head.fc.weight, teacher.student.head.fc.weight)


def test_offline_checkpoint_errors(tmp_path, mmpretrain_scope):
    _, path = save_teacher(tmp_path)
    with pytest.raises(FileNotFoundError, match='model.teacher_checkpoint'):
        build(mode='offline', teacher=classifier_cfg(), teacher_checkpoint='missing.pth')
    with pytest.raises(KeyError, match='model.teacher_checkpoint'):
        build(mode='offline', teacher=wrn_cfg(), teacher_checkpoint=path)
    unset = build(mode='offline', teacher=classifier_cfg())
    with pytest.raises(ValueError, match='model.teacher_checkpoint is not set'):
        run_loss(unset.train())
    with pytest.raises(ValueError, match='model.mode'):
        build(mode='distill')
    with pytest.raises(ValueError, match='model.deploy'):
        build(mode='offline', teacher=classifier_cfg(), teacher_checkpoint=path,
              deploy='peer')


def test_branch_classes_must_match_every_head(mmpretrain_scope):
    """The joint label ``4 * y + k`` needs the branches' ``num_classes`` equal to each
    network's head: a mismatch is a config error at build time, not a wrong joint space."""
    from mmselfkd.utils.errors import ConfigError
    ten = dict(BRANCHES, num_classes=10)
    with pytest.raises(ConfigError, match=r'model.aux_branches.num_classes is 10, but the '
                       r'head of model.student has 100 classes.*num_classes=100'):
        build(mode='teacher', aux_branches=ten)
    peer = classifier_cfg()
    peer['head']['num_classes'] = 10
    with pytest.raises(ConfigError, match=r'head of model.peer has 10 classes'):
        build(mode='online', peer=peer)
    with pytest.raises(ConfigError, match=r'head of model.teacher has 10 classes'):
        build(mode='offline', teacher=peer)


def test_teacher_mode_joint_and_frozen(tmp_path, mmpretrain_scope):
    joint = build(mode='teacher').train()
    losses = run_loss(joint)
    assert set(losses) == {'loss_cls', 'aux.loss_joint'}
    losses['aux.loss_joint'].backward()
    assert joint.student.backbone.conv1.weight.grad.abs().sum() > 0  # "Teacher*"

    path = str(tmp_path / 'classifier.pth')
    torch.save({'state_dict': joint.student.state_dict()}, path)
    frozen = build(mode='teacher', freeze_backbone=True, classifier_checkpoint=path).train()
    assert not frozen.student.training and frozen.aux_branches.training
    losses = run_loss(frozen)
    sum(losses.values()).backward()
    # spec 5.4: with grad=False the auxiliary losses do not reach the backbone
    assert all(p.grad is None for p in frozen.student.parameters())
    assert all(p.grad is not None for p in frozen.aux_branches.parameters())


@pytest.mark.parametrize('mode', ['online', 'offline'])
def test_train_step_with_optim_wrapper(mode, tmp_path, mmpretrain_scope):
    kwargs = dict(mode=mode)
    if mode == 'offline':
        kwargs.update(teacher=classifier_cfg(), teacher_checkpoint=save_teacher(tmp_path)[1])
    model = build(**kwargs)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9,
                                         nesterov=True, weight_decay=5e-4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log_vars = model.train_step(batch(), optim)
    assert torch.isfinite(log_vars['loss'])
    after = model.state_dict()
    assert not torch.equal(after['student.backbone.conv1.weight'],
                           before['student.backbone.conv1.weight'])
    assert not torch.equal(after['aux_branches.branches.0.fc.weight'],
                           before['aux_branches.branches.0.fc.weight'])
    if mode == 'online':
        assert not torch.equal(after['peer.head.fc.weight'], before['peer.head.fc.weight'])
    else:
        assert all(torch.equal(after[k], before[k]) for k in before if k.startswith('teacher'))


@pytest.mark.parametrize('config', [
    'vgg13_cifar100_online', 'mobilenetv2_cifar100_online', 'shufflev1_cifar100_online',
    'shufflev2_cifar100_online', 'vgg13_to_mobilenetv2_cifar100_student',
    'wrn40-2_to_shufflev1_cifar100_student', 'resnet32x4_to_shufflev2_cifar100_student',
    'resnet50_to_mobilenetv2_cifar100_student'])
def test_shipped_mobile_and_vgg_configs_train(config, tmp_path, mmpretrain_scope):
    """One step of the shipped configs of the VGG/MobileNetV2/ShuffleNet networks (4 or 3
    branches, branch ends), offline with a checkpoint of the shipped teacher config."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS

    def build_cfg(path, **override):
        cfg = Config.fromfile(path)
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.update(override, data_preprocessor=cfg.data_preprocessor)
        torch.manual_seed(0)
        return cfg, MODELS.build(model_cfg)

    override = {}
    if config.endswith('_student'):
        teacher = config.split('_to_')[0]
        _, trained = build_cfg(f'{CFG}/{teacher}_cifar100_teacher.py')
        override['teacher_checkpoint'] = str(tmp_path / 'teacher.pth')
        torch.save({'state_dict': trained.state_dict()}, override['teacher_checkpoint'])
    cfg, model = build_cfg(f'{CFG}/{config}.py', **override)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    log_vars = model.train_step(batch(num=2, size=32), optim_wrapper)
    assert torch.isfinite(log_vars['loss']) and 'distill.loss_kl_aux' in log_vars
    after = model.state_dict()
    last = len(model.aux_branches) - 1
    assert not torch.equal(after[f'aux_branches.branches.{last}.fc.weight'],
                           before[f'aux_branches.branches.{last}.fc.weight'])


@pytest.mark.parametrize('deploy', ['student', 'peer'])
def test_export_equality_and_peer_scores(deploy, mmpretrain_scope):
    from mmengine.registry import MODELS
    model = build(mode='online', deploy=deploy, val_heads=('peer', ))
    run_loss(model.train())  # move BN statistics away from their init
    model.eval()
    prefix = HSSAKD.deploy_prefix(dict(mode='online', deploy=deploy))
    assert prefix == f'{deploy}.'
    plain_cfg = dict(classifier_cfg(), data_preprocessor=PREPROCESSOR)
    plain = MODELS.build(plain_cfg).eval()
    plain.load_state_dict({k[len(prefix):]: v for k, v in model.state_dict().items()
                           if k.startswith(prefix)}, strict=True)
    data = batch(3, seed=1)
    with torch.no_grad():
        results = model.val_step(copy.deepcopy(data))
        reference = plain.val_step(copy.deepcopy(data))
        other = model.peer if deploy == 'student' else model.student
        other_scores = F.softmax(other(model.data_preprocessor(data)['inputs'],
                                       mode='tensor'), 1)
    for got, ref, score in zip(results, reference, other_scores):
        assert torch.equal(got.pred_score, ref.pred_score)
        assert torch.allclose(got.peer_score, score)
        assert not torch.allclose(got.peer_score, got.pred_score)


def test_wrn_branches_use_raw_last_stage(mmpretrain_scope):
    """The last WRN branch taps layer3 before the final BN + ReLU (official ``f3``)."""
    model = build(mode='teacher', student=wrn_cfg()).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        outputs = model._forward_net(model.student, model.aux_branches, x)
        backbone = model.student.backbone
        l3 = backbone.layer3(backbone.layer2(backbone.layer1(backbone.conv1(x))))
        assert torch.allclose(outputs.aux[2], model.aux_branches.branches[2](l3))
        assert torch.allclose(outputs.final, model.student(x, mode='tensor'))


# ------------------------------------------------- teachers trained with the official code
# Each family's teacher (100 classes) and the official names of its entries, written here
# from winycg/HSAKD models/*.py independently of the loader, which pairs entries in order.
def family_cfg(backbone, channels):
    return dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=100, in_channels=channels))


OFFICIAL_FAMILIES = {
    # models/resnet.py resnet{8,20,56,8x4,32x4}_aux
    'resnet': family_cfg(dict(type='mmselfkd.CIFARResNet', depth=8), 64),
    # models/wrn.py wrn_{16,40}_{1,2}_aux
    'wrn': family_cfg(dict(type='mmselfkd.WideResNet', depth=10, widen_factor=1), 64),
    # models/vgg.py vgg{8,13}_bn_aux
    'vgg': family_cfg(dict(type='mmselfkd.CIFARVGG', depth=8, out_indices=(0, 1, 2, 3)), 512),
    # models/resnetv2.py ResNet50_aux (narrowed)
    'resnetv2': family_cfg(dict(type='ResNet_CIFAR', depth=50, stem_channels=8,
                                base_channels=8, out_indices=(0, 1, 2, 3)), 256),
    # models/resnet_imagenet.py resnet{18,34}_imagenet_aux (narrowed)
    'resnet_imagenet': family_cfg(dict(type='ResNet', depth=18, stem_channels=8,
                                       base_channels=8, out_indices=(0, 1, 2, 3)), 64),
}
OFFICIAL_FC = dict(resnet='fc', wrn='fc', vgg='classifier', resnetv2='linear',
                   resnet_imagenet='fc')
VGG8_BLOCK3 = 3  # modules of VGG-8's block3 (one conv-BN-ReLU) before block4


def official_block(family, inner):
    """Official name of an entry inside one of our stages (``'<block>.<rest>'``)."""
    if family == 'wrn':  # NetworkBlock.layer, BasicBlock.convShortcut
        return 'layer.' + inner.replace('.shortcut.', '.convShortcut.')
    if family == 'resnetv2':
        return inner.replace('.downsample.', '.shortcut.')
    return inner


def official_backbone_key(family, key):
    if family == 'wrn':
        key = re.sub(r'^layer(\d)\.', lambda m: f'block{m[1]}.', key)
        return key if key.startswith(('conv1.', 'bn1.')) else \
            re.sub(r'^(block\d)\.(.*)$', lambda m: f'{m[1]}.' + official_block(family, m[2]), key)
    if family == 'vgg':  # block0..block4 without the max-pools, block3 + block4 in stage3
        stage, index, rest = re.match(r'stage(\d)\.(\d+)\.(.*)', key).groups()
        index = int(index) - (stage != '0')
        if stage == '3' and index >= VGG8_BLOCK3:
            return f'block4.{index - VGG8_BLOCK3}.{rest}'
        return f'block{stage}.{index}.{rest}'
    return official_block(family, key) if family == 'resnetv2' else key


def official_branch_key(family, branch, key, num_branches):
    """``auxiliary_classifier.*`` name of ``branches.<branch>.<key>``."""
    n = branch + 1
    if key.startswith('fc.'):
        return f'fc{n}.{key[3:]}'
    if key.startswith('norm.'):  # WRN's BN before pooling
        return f'bn{n}.{key[5:]}'
    stage, inner = re.match(r'stage(\d)\.(.*)', key).groups()
    stage = int(stage)
    if family == 'vgg':  # [MaxPool, block_s, ReLU] per strided stage, then block4
        index, rest = inner.split('.', 1)
        index = int(index)
        if branch == num_branches - 1:
            return (f'block_extractor{n}.{0 if index < VGG8_BLOCK3 else 2}.'
                    f'{index % VGG8_BLOCK3}.{rest}')
        position = 3 * (stage - n) + 1
        if stage == 3 and index - 1 >= VGG8_BLOCK3:
            position, index = 3 * (3 - n) + 3, index - VGG8_BLOCK3
        return f'block_extractor{n}.{position}.{index - 1}.{rest}'
    position = stage - n if branch < num_branches - 1 else 0
    return f'block_extractor{n}.{position}.' + official_block(family, inner)


def official_checkpoint(family, teacher):
    """``{'net': ...}`` as train_teacher_cifar.py saves it, in the official entry order:
    backbone, then block_extractor1..L, bn1..L, fc1..L."""
    from collections import OrderedDict
    num_branches = len(teacher.aux_branches)
    entries = []
    for key, value in teacher.state_dict().items():
        if key.startswith('student.head.fc.'):
            entries.append((0, f'backbone.{OFFICIAL_FC[family]}.' + key.rsplit('.', 1)[1], value))
        elif key.startswith('student.backbone.'):
            entries.append((0, 'backbone.' + official_backbone_key(
                family, key[len('student.backbone.'):]), value))
        else:
            branch, rest = re.match(r'aux_branches\.branches\.(\d+)\.(.*)', key).groups()
            name = official_branch_key(family, int(branch), rest, num_branches)
            kind = 1 + ['block_extractor', 'bn', 'fc'].index(re.match(r'[a-z_]+', name)[0])
            entries.append((kind, 'auxiliary_classifier.' + name, value))
    net = OrderedDict((name, value) for _, name, value in sorted(entries, key=lambda e: e[0]))
    optimizer = torch.optim.SGD(teacher.parameters(), lr=0.05, momentum=0.9)
    return {'net': net, 'acc': 0.75, 'epoch': 239, 'optimizer': optimizer.state_dict()}


OFFICIAL_NAMES = {  # entries named in the official model files
    'resnet': ['backbone.layer2.0.downsample.1.running_var', 'backbone.fc.weight',
               'auxiliary_classifier.block_extractor1.1.0.conv2.weight',
               'auxiliary_classifier.block_extractor3.0.0.bn2.bias',
               'auxiliary_classifier.fc3.bias'],
    'wrn': ['backbone.block2.layer.0.convShortcut.weight', 'backbone.bn1.running_mean',
            'auxiliary_classifier.block_extractor1.1.layer.0.convShortcut.weight',
            'auxiliary_classifier.bn3.weight', 'auxiliary_classifier.fc1.weight'],
    'vgg': ['backbone.block0.0.weight', 'backbone.block3.1.running_mean',
            'backbone.block4.0.bias', 'backbone.classifier.weight',
            'auxiliary_classifier.block_extractor1.1.0.weight',
            'auxiliary_classifier.block_extractor1.7.1.weight',
            'auxiliary_classifier.block_extractor1.9.0.weight',
            'auxiliary_classifier.block_extractor3.3.1.running_var',
            'auxiliary_classifier.block_extractor4.0.0.weight',
            'auxiliary_classifier.block_extractor4.2.1.bias', 'auxiliary_classifier.fc4.bias'],
    'resnetv2': ['backbone.layer1.0.shortcut.0.weight', 'backbone.layer4.2.bn3.weight',
                 'backbone.linear.bias',
                 'auxiliary_classifier.block_extractor1.2.0.shortcut.1.running_mean',
                 'auxiliary_classifier.block_extractor4.0.2.conv3.weight'],
    'resnet_imagenet': ['backbone.layer4.0.downsample.0.weight', 'backbone.fc.weight',
                        'auxiliary_classifier.block_extractor2.1.1.conv2.weight',
                        'auxiliary_classifier.fc4.weight'],
}


@pytest.mark.parametrize('family', list(OFFICIAL_FAMILIES))
def test_official_hsakd_teacher_checkpoint_is_recognised(family, tmp_path, mmpretrain_scope):
    source = build(mode='teacher', student=OFFICIAL_FAMILIES[family])
    generator = torch.Generator().manual_seed(1)
    for name, buffer in source.named_buffers():  # BN statistics must arrive too
        if 'running' in name:
            buffer.copy_(torch.rand(buffer.shape, generator=generator) + 0.5)
    checkpoint = official_checkpoint(family, source)
    assert set(OFFICIAL_NAMES[family]) <= set(checkpoint['net'])
    path = str(tmp_path / f'{family}_aux.pth.tar')
    torch.save(checkpoint, path)

    model = build(mode='offline', teacher=OFFICIAL_FAMILIES[family], teacher_checkpoint=path)
    for prefix, ours in (('student.', model.teacher), ('aux_branches.', model.teacher_branches)):
        for key, value in ours.state_dict().items():
            assert torch.equal(value, source.state_dict()[prefix + key]), prefix + key
    source.eval()
    inputs = rotate_batch(torch.randn(2, 3, 16, 16, generator=generator))
    with torch.no_grad():
        expected = HSSAKD._forward_net(source.student, source.aux_branches, inputs)
        loaded = HSSAKD._forward_net(model.teacher, model.teacher_branches, inputs)
    assert torch.equal(loaded.final, expected.final)
    assert all(torch.equal(a, b) for a, b in zip(loaded.aux, expected.aux))


def test_official_checkpoint_of_another_teacher_is_refused(tmp_path, mmpretrain_scope):
    source = build(mode='teacher', student=OFFICIAL_FAMILIES['wrn'])
    path = str(tmp_path / 'wrn_aux.pth.tar')
    torch.save(official_checkpoint('wrn', source), path)
    with pytest.raises(KeyError, match=r'model.teacher_checkpoint: .*wrn_aux.pth.tar is an '
                       r'official HSAKD checkpoint that does not fit the configured teacher'):
        build(mode='offline', teacher=OFFICIAL_FAMILIES['resnet'], teacher_checkpoint=path)


# ------------------------------------------------------------------------ shipped configs
def test_shipped_configs_follow_the_official_recipe():
    configs = sorted(glob.glob(f'{CFG}/*.py'))
    assert len(configs) == 30
    for path in [p for p in configs + sorted(glob.glob('configs/baseline/*_hssakd.py'))
                 if '_cifar100' in p]:
        cfg = Config.fromfile(path, import_custom_modules=False)
        assert cfg.train_dataloader.batch_size == 64
        opt = cfg.optim_wrapper.optimizer
        # lr 0.01 for MobileNetV2 and ShuffleNets, also as students (train_*_cifar.sh)
        lr = 0.01 if any(net in osp.basename(path).split('_cifar100')[0].split('_to_')[-1]
                         for net in ('mobilenetv2', 'shufflev')) else 0.05
        assert (opt.type, opt.lr, opt.momentum, opt.weight_decay, opt.nesterov) == \
            ('SGD', lr, 0.9, 5e-4, True)
        assert cfg.data_preprocessor.mean == [129.3105, 124.1085, 112.404]
        assert cfg.data_preprocessor.std == [68.2125, 65.4075, 70.4055]
        if path.endswith('_frozen.py'):
            assert cfg.param_scheduler.milestones == [30, 60, 90]
            assert cfg.train_cfg.max_epochs == 100
        else:
            assert cfg.param_scheduler.milestones == [150, 180, 210]
            assert cfg.train_cfg.max_epochs == 240
        if '/hssakd/' in path and 'teacher' not in path:
            assert cfg.model.temperature == 3.0


def test_shipped_imagenet_configs_follow_the_official_recipe():
    """winycg/HSAKD train_{online_kd,teacher,student}_imagenet.py (spec 3.5)."""
    configs = sorted(glob.glob(f'{CFG}/*_imagenet_*.py') +
                     glob.glob('configs/baseline/*_imagenet_hssakd.py'))
    assert len(configs) == 6
    for path in configs:
        cfg = Config.fromfile(path, import_custom_modules=False)
        assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 256
        opt = cfg.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.momentum, opt.weight_decay, opt.get('nesterov', False)) \
            == ('SGD', 0.1, 0.9, 1e-4, False)
        assert cfg.param_scheduler.milestones == [30, 60, 90]
        assert cfg.train_cfg.max_epochs == 100 and cfg.randomness.seed == 0
        assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]
        if '/hssakd/' in path:
            assert cfg.model.aux_branches.fc_init == 'default'


def _twin(network, dataset):
    return Config.fromfile(f'configs/baseline/{network}_{dataset}_hssakd.py',
                           import_custom_modules=False).model.to_dict()


@pytest.mark.parametrize('path', sorted(glob.glob(f'{CFG}/*.py')), ids=osp.basename)
def test_shipped_networks_are_their_baseline_twins(path):
    """Every network of a method config is, key for key, the classifier of its fair baseline
    (online: both peers; teacher runs: the teacher; offline: student and teacher)."""
    model = Config.fromfile(path, import_custom_modules=False).model.to_dict()
    name = osp.basename(path)[:-len('.py')]
    dataset = 'cifar100' if '_cifar100_' in name else 'imagenet'
    networks, mode = name.split(f'_{dataset}_')
    mode = mode.split('_')[0]
    if mode == 'online':
        assert model['student'] == model['peer'] == _twin(networks, dataset)
    elif mode == 'teacher':
        assert model['student'] == _twin(networks, dataset)
    else:
        teacher, student = networks.split('_to_')
        assert model['student'] == _twin(student, dataset)
        # the teacher network is read from its twin's file (dict(cfg_path=...))
        assert osp.samefile(model['teacher']['cfg_path'],
                            f'configs/baseline/{teacher}_{dataset}_hssakd.py')
        assert model_config_from_file(model['teacher'], 'teacher') == _twin(teacher, dataset)
    assert model['mode'] == {'student': 'offline'}.get(mode, mode)


# -------------------------------------------------------------------- end to end (tools)
def _last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


SMALL_R = ['model.student.backbone.depth=8', 'model.peer.backbone.depth=8']
SMALL_WRN = ['model.student.backbone.depth=10', 'model.student.backbone.widen_factor=1',
             'model.student.head.in_channels=64']


@pytest.mark.slow
def test_online_train_resume_test_export(tmp_path, tiny_cifar100, cifar_options,
                                         tool_runner, mmpretrain_scope):
    from mmengine.registry import MODELS
    config = f'{CFG}/resnet56_cifar100_online.py'
    work_dir = str(tmp_path / 'online')
    opts = cifar_options(tiny_cifar100, batch_size=4) + SMALL_R + \
        ['train_dataloader.dataset.indices=8']
    tool_runner(['tools/train.py', config, '--work-dir', work_dir, '--cfg-options', *opts])
    assert _last_checkpoint(work_dir).endswith('epoch_1.pth')
    opts2 = [o for o in opts if not o.startswith('train_cfg.max_epochs')] + \
        ['train_cfg.max_epochs=2']
    proc = tool_runner(['tools/train.py', config, '--work-dir', work_dir, '--resume',
                        '--cfg-options', *opts2])
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    ckpt = _last_checkpoint(work_dir)
    assert ckpt.endswith('epoch_2.pth')
    proc = tool_runner(['tools/test.py', config, ckpt, '--work-dir', work_dir,
                        '--cfg-options', *opts])
    log = proc.stdout + proc.stderr
    assert 'accuracy/top1' in log and 'heads/peer_top1' in log and 'heads/best_top1' in log

    out = str(tmp_path / 'plain.pth')
    tool_runner(['tools/export.py', ckpt, out])
    exported = torch.load(out, weights_only=True)['state_dict']
    cfg = Config.fromfile(config)
    plain_cfg = copy.deepcopy(cfg.model.student)
    plain_cfg.backbone.depth = 8
    plain_cfg.data_preprocessor = cfg.data_preprocessor
    plain = MODELS.build(plain_cfg).eval()
    plain.load_state_dict(exported, strict=True)
    state = torch.load(ckpt, weights_only=False)['state_dict']
    reference = MODELS.build(plain_cfg).eval()
    reference.load_state_dict({k[len('student.'):]: v for k, v in state.items()
                               if k.startswith('student.')})
    data = batch(4, size=32, seed=2)
    with torch.no_grad():
        got = plain.val_step(copy.deepcopy(data))
        ref = reference.val_step(copy.deepcopy(data))
    for a, b in zip(got, ref):
        assert torch.equal(a.pred_score, b.pred_score)


@pytest.mark.slow
def test_offline_teacher_then_student(tmp_path, tiny_cifar100, cifar_options, tool_runner):
    base = cifar_options(tiny_cifar100, batch_size=4) + ['train_dataloader.dataset.indices=8']
    teacher_dir = str(tmp_path / 'teacher')
    tool_runner(['tools/train.py', f'{CFG}/wrn40-2_cifar100_teacher.py', '--work-dir',
                 teacher_dir, '--cfg-options', *base, *SMALL_WRN])
    teacher_ckpt = _last_checkpoint(teacher_dir)
    student_dir = str(tmp_path / 'student')
    small_teacher = [o.replace('model.student.', 'model.teacher.') for o in SMALL_WRN]
    proc = tool_runner(['tools/train.py', f'{CFG}/wrn40-2_to_wrn16-2_cifar100_student.py',
                        '--work-dir', student_dir, '--cfg-options', *base, *SMALL_WRN,
                        *small_teacher, f'model.teacher_checkpoint={teacher_ckpt}'])
    assert 'distill/loss_kl' in proc.stdout + proc.stderr or \
        'distill.loss_kl' in proc.stdout + proc.stderr
    assert _last_checkpoint(student_dir).endswith('epoch_1.pth')


@pytest.mark.slow
def test_online_two_process_gloo(tmp_path, tiny_cifar100, cifar_options, tool_runner):
    opts = cifar_options(tiny_cifar100, batch_size=2) + SMALL_R + \
        ['train_dataloader.dataset.indices=8']
    work_dir = str(tmp_path / 'dist')
    tool_runner(['tools/dist_train.sh', f'{CFG}/resnet56_cifar100_online.py', '2',
                 '--work-dir', work_dir, '--cfg-options', *opts], env={'PORT': '29517'})
    assert _last_checkpoint(work_dir).endswith('epoch_1.pth')
