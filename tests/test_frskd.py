"""FRSKD: BiFPN self-teacher structure against the official graph, golden values and gradient
routing of the official loss, variants, configs, train_step, export and the end-to-end tool
run (official code: MingiJi/FRSKD at 98b87e5, ``classification/``)."""
import copy
import os.path as osp
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from mmselfkd import register_all_modules
from mmselfkd.models.algorithms import FRSKD
from mmselfkd.models.losses import attention_transfer
from mmselfkd.models.utils import classifier_logits, head_losses
from mmselfkd.models.self_teachers import BiFPNSelfTeacher, SelfTeacherClassifier
from mmselfkd.models.self_teachers.bifpn import SamePadMaxPool2d, add_upsampled

from conftest import (REPO_ROOT, assert_equal_predictions, build_model, cls_batch,  # noqa: E402
                      cls_samples, num_params, ramp, sine_tensor)

CONFIG = osp.join(REPO_ROOT, 'configs/frskd/resnet18_cifar100.py')
CIFAR_CHANNELS = [64, 128, 256, 512]


def build_from_config(path, **overrides):
    cfg = Config.fromfile(path)
    cfg.model.update(overrides)
    return build_model(cfg.model, cfg.get('data_preprocessor'))


@pytest.fixture(scope='module')
def frskd():
    """The shipped CIFAR-100 FRSKD model (official sizes: ResNet-18, BiFPNc, K=100)."""
    register_all_modules(host='mmpretrain')
    torch.manual_seed(0)
    return build_from_config(CONFIG)


# ------------------------------------------- structure (official models/bifpnc.py, resnet.py)
def test_official_parameter_counts(frskd):
    assert num_params(frskd.student) == 11_220_132  # cifarresnet18, K=100: 11.220 M
    # BiFPNc width 2 depth 2 with its classifier: 6.376 M
    assert num_params(frskd.self_teacher) + num_params(frskd.teacher_head) == 6_375_794
    assert num_params(frskd.teacher_head) == 1024 * 100 + 100
    assert frskd.self_teacher.in_channels == CIFAR_CHANNELS  # inferred from the backbone
    assert frskd.self_teacher.out_channels == [128, 256, 512, 1024]
    assert not any(k.startswith('student.') for k, _ in frskd.self_teacher.named_parameters())
    assert type(frskd.teacher_head) is SelfTeacherClassifier


def test_bifpn_shapes_at_32x32(frskd):
    """Backbone taps and refined maps of the CIFAR ResNet-18 at 32x32 (official
    ``cifarresnet18`` and ``BiFPNc``)."""
    data = frskd.data_preprocessor(cls_batch(2, 32), training=True)
    with torch.no_grad():
        feats = frskd.extract_stage_features(data['inputs'])
        refined, teacher_logits = frskd.self_teacher_forward(feats)
    assert [tuple(f.shape) for f in feats] == [(2, 64, 32, 32), (2, 128, 16, 16),
                                               (2, 256, 8, 8), (2, 512, 4, 4)]
    assert [tuple(g.shape) for g in refined] == [(2, 128, 32, 32), (2, 256, 16, 16),
                                                 (2, 512, 8, 8), (2, 1024, 4, 4)]
    assert teacher_logits.shape == (2, 100)
    assert all(bool((g >= 0).all()) for g in refined)  # outputs are ReLU'd (preact=False)


def test_bifpn_node_wiring():
    teacher = BiFPNSelfTeacher(CIFAR_CHANNELS, width=2, depth=2)
    assert [w.numel() for w in teacher.top_down_weights] == [2, 2, 2]
    assert [w.numel() for w in teacher.bottom_up_weights] == [3, 3, 2]  # 2 at the top level
    for weight in list(teacher.top_down_weights) + list(teacher.bottom_up_weights):
        assert torch.equal(weight.detach(), torch.ones_like(weight))
    # the bottom-up path has its own lateral convs (levels 2..n), separate from the top-down
    assert len(teacher.lateral) == 4 and len(teacher.bottom_up_lateral) == 3
    assert teacher.lateral[1][0].weight is not teacher.bottom_up_lateral[0][0].weight
    assert not hasattr(teacher, 'classifier')  # a neck: the task adapter adds the head
    # depth-2 separable blocks: DW, PW, BN, ReLU, DW, PW, BN (no ReLU at the end)
    kinds = [type(m).__name__ for m in teacher.top_down_blocks[0]]
    assert kinds == ['Conv2d', 'Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'Conv2d',
                     'BatchNorm2d']
    assert teacher.top_down_blocks[0][0].groups == 128

    # level 1 of the output is the top-down node: no bottom-up module reaches it
    feats = [torch.randn(2, c, s, s) for c, s in zip(CIFAR_CHANNELS, (8, 4, 2, 1))]
    outputs = teacher(feats)
    grads = torch.autograd.grad(outputs[0].sum(), list(teacher.bottom_up_lateral.parameters())
                                + list(teacher.bottom_up_blocks.parameters()),
                                allow_unused=True)
    assert all(g is None for g in grads)


def official_bifpnc(teacher, feats):
    """The official ``BiFPN_layer.forward`` (bifpnc.py, preact=False), written out in its own
    operation order on ``teacher``'s parameters: ReLU on every fusion input, nearest x2
    upsampling *before* the projection, zero "same" padding then max-pool, and ReLU'd
    outputs."""
    relu = F.relu

    def normalized(w):
        w = relu(w)
        return w / (torch.sum(w, dim=0) + 1e-6)

    def same_pad_pool(x):
        def pad(n):
            extra = max((-(-n // 2) - 1) * 2 - n + 3, 0)
            return [extra // 2, extra - extra // 2]
        return F.max_pool2d(F.pad(x, pad(x.shape[-1]) + pad(x.shape[-2])), 3, 2)

    n = len(feats)
    input_trans = [teacher.bottom_up_lateral[i - 1](relu(feats[i])) for i in range(1, n)]
    inputs = [teacher.lateral[i](relu(feats[i])) for i in range(n)]
    up_sample = [inputs[-1]]
    for i in range(1, n):
        w = normalized(teacher.top_down_weights[-i])
        upsampled = F.interpolate(relu(up_sample[0]), scale_factor=2, mode='nearest')
        up_sample.insert(0, teacher.top_down_blocks[-i](
            w[0] * relu(inputs[-i - 1])
            + w[1] * teacher.top_down_resample[-i].project(upsampled)))
    out_layer = [up_sample[0]]
    for i in range(1, n):
        w = normalized(teacher.bottom_up_weights[i - 1])
        down = teacher.bottom_up_resample[i - 1].project(same_pad_pool(relu(out_layer[-1])))
        if i < n - 1:
            fused = w[0] * relu(input_trans[i - 1]) + w[1] * relu(up_sample[i]) + w[2] * down
        else:
            fused = w[0] * relu(input_trans[i - 1]) + w[1] * down
        out_layer.append(teacher.bottom_up_blocks[i - 1](fused))
    return [relu(f) for f in out_layer]


class _OtherBatchNorm(torch.nn.BatchNorm2d):
    """Stands for a converted BN (e.g. SyncBatchNorm) that the fused scaling must not bypass."""


@pytest.mark.parametrize('channels_last,plain_bn', [(False, True), (True, True), (False, False)])
def test_bifpn_equals_the_official_operation_order(channels_last, plain_bn):
    """Outputs, every gradient (input maps, convs, BN, fusion weights) and the BN running
    statistics equal those of the official graph: our order projects before upsampling,
    folds each fusion weight into the BN of the map it scales, adds with the upsampling
    folded in, pools without a padded copy and takes each ReLU once (float64)."""
    torch.manual_seed(0)
    ours = BiFPNSelfTeacher([4, 6, 8, 10], width=2, depth=2,
                            channels_last=channels_last).double().train()
    if not plain_bn:
        for module in list(ours.modules()):
            for name, child in module.named_children():
                if type(child) is torch.nn.BatchNorm2d:
                    other = _OtherBatchNorm(child.num_features).double()
                    other.load_state_dict(child.state_dict())
                    setattr(module, name, other)
    with torch.no_grad():  # distinct fusion weights, one of them clipped by the ReLU
        for i, w in enumerate(list(ours.top_down_weights) + list(ours.bottom_up_weights)):
            w.copy_(torch.linspace(-0.2, 1.5, w.numel()) + 0.1 * i)
        for m in ours.modules():  # BN affine parameters away from their initial 1 and 0
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    official = copy.deepcopy(ours)
    feats = [torch.randn(3, c, s, s, dtype=torch.float64, requires_grad=True)
             for c, s in zip([4, 6, 8, 10], [16, 8, 4, 2])]
    head = [torch.randn(3, 2 * c, s, s, dtype=torch.float64)
            for c, s in zip([4, 6, 8, 10], [16, 8, 4, 2])]

    def run(teacher, forward):
        outs = forward(teacher, feats)
        loss = sum((o * h).sum() + o.pow(2).mean() for o, h in zip(outs, head))
        return outs, torch.autograd.grad(loss, feats + list(teacher.parameters()))

    our_outs, our_grads = run(ours, lambda t, f: t(f))
    official_outs, official_grads = run(official, official_bifpnc)
    for a, b in zip(our_outs, official_outs):
        assert a.is_contiguous(memory_format=torch.channels_last) == channels_last
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(our_grads, official_grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for (name, a), b in zip(ours.named_buffers(), official.buffers()):
        # running variances differ by the n/(n-1) factor of a 4x repeated map (projection
        # before upsampling, see UpsampleProject); the rest is equal
        if 'top_down_resample' in name and 'running_var' in name:
            continue
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)


def test_bifpn_odd_levels_keep_the_official_order():
    """Odd-sized levels (a padded detection FPN: 7 under 13) resample to the full size."""
    torch.manual_seed(1)
    teacher = BiFPNSelfTeacher([4, 4, 4], width=1, depth=1).double().train()
    feats = [torch.randn(2, 4, s, s, dtype=torch.float64, requires_grad=True)
             for s in (13, 7, 4)]
    ours = teacher(feats)
    assert [o.shape[-1] for o in ours] == [13, 7, 4]
    grads = torch.autograd.grad(sum(o.sum() for o in ours), feats)
    assert all(torch.isfinite(g).all() for g in grads)


def test_bifpn_flops_ours_and_official_graph():
    """Forward FLOPs per 32x32 image of the CIFAR ResNet-18 self-teacher and its classifier
    (``FlopCounterMode``, as ``tools/benchmark.py`` counts): 0.633 G in our order, 0.784 G in
    the official one, whose top-down projections run at the fine size (x4 their cost). The
    README benchmark relates the step times to both; 1.111 G is the ResNet-18 itself, so the
    self-teacher adds 57 % (ours) or 71 % (official graph)."""
    from torch.utils.flop_counter import FlopCounterMode
    teacher = BiFPNSelfTeacher(CIFAR_CHANNELS, width=2, depth=2)
    classifier = SelfTeacherClassifier(1024, 100)
    feats = [torch.randn(1, c, s, s) for c, s in zip(CIFAR_CHANNELS, (32, 16, 8, 4))]
    flops = {}
    for name, forward in (('ours', teacher), ('official', partial(official_bifpnc, teacher))):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            classifier(forward(feats)[-1])
        flops[name] = counter.get_total_flops()
    projections = sum(2 * 2 * c * c * s * s for c, s in zip((128, 256, 512), (32, 16, 8)))
    assert flops['official'] - flops['ours'] == projections * 3 // 4 == 150_994_944
    assert flops == dict(ours=633_348_096, official=784_343_040)


@pytest.mark.parametrize('layout', ['contiguous', 'channels_last', 'strided'])
def test_add_upsampled(layout):
    """Equal to adding the nearest x2 upsampled map, values and gradients, in any layout."""
    fine = torch.randn(2, 6, 6, 4, dtype=torch.float64)
    if layout == 'channels_last':
        fine = fine[:, :3].contiguous(memory_format=torch.channels_last)
    elif layout == 'strided':
        fine = fine[:, ::2]
    else:
        fine = fine[:, :3].contiguous()
    fine = fine.detach().requires_grad_()
    coarse = torch.randn(2, 3, 3, 2, dtype=torch.float64, requires_grad=True)
    ours = add_upsampled(fine, coarse)
    plain = fine + F.interpolate(coarse, scale_factor=2, mode='nearest')
    assert torch.equal(ours, plain)
    grad = torch.randn_like(plain)
    for a, b in zip(torch.autograd.grad(ours, (fine, coarse), grad),
                    torch.autograd.grad(plain, (fine, coarse), grad)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match='neither'):
        add_upsampled(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 3, 3))


@pytest.mark.parametrize('size', range(1, 10))
def test_same_padded_max_pool(size):
    pool = SamePadMaxPool2d(3, 2)
    x = torch.rand(1, 1, size, size) + 0.5
    out = pool(x)
    assert out.shape[-2:] == ((size + 1) // 2, (size + 1) // 2)
    # TF "same": for even sizes nothing on the left/top, one zero on the right/bottom
    padded = F.pad(x, ([0, 1] if size % 2 == 0 else [1, 1]) * 2)
    assert torch.equal(out, F.max_pool2d(padded, 3, 2))


def test_probe_errors(mmpretrain_scope):
    cfg = Config.fromfile(CONFIG)
    wrong = copy.deepcopy(cfg.model)
    wrong.self_teacher.in_channels = [64, 128, 256, 256]
    with pytest.raises(ValueError, match=r'model\.self_teacher\.in_channels'):
        build_model(wrong, cfg.data_preprocessor)
    single = copy.deepcopy(cfg.model)
    single.student.backbone.out_indices = (3, )
    with pytest.raises(ValueError, match=r'model\.student\.backbone\.out_indices'):
        build_model(single, cfg.data_preprocessor)
    classes = copy.deepcopy(cfg.model)
    classes.self_teacher.num_classes = 10
    with pytest.raises(ValueError, match=r'model\.self_teacher\.num_classes'):
        build_model(classes, cfg.data_preprocessor)


# ---------------------------------- goldens (official distill_loss/KD.py, AT.py; float64)
def test_goldens_float64(frskd):
    zs, zt = sine_tensor((4, 10), 0, 3), sine_tensor((4, 10), 1, 3)
    data_samples = cls_samples([1, 3, 5, 7])
    fs = [sine_tensor((4, 8, 6, 6), 0.3, 1, 0.37) * ramp(6),
          sine_tensor((4, 8, 3, 3), 0.5, 1, 0.37) * ramp(3)]
    ft = [sine_tensor((4, 16, 6, 6), 0.7, 1, 0.11) * ramp(6).flip(-1),
          sine_tensor((4, 16, 3, 3), 0.9, 1, 0.11) * ramp(3).flip(-1)]
    rel = 1e-6
    assert float(attention_transfer(fs[0], ft[0])) == pytest.approx(0.00133375, rel=rel)
    assert float(attention_transfer(fs[1], ft[1])) == pytest.approx(0.032739816, rel=rel)

    distill = frskd.distill_losses(zs, zt, fs, ft)  # alpha 2, beta 100, T 4 (config)
    assert float(distill['distill.loss_kl']) / 2 == pytest.approx(1.0770834198, rel=rel)
    assert float(distill['distill.loss_kl'] + distill['distill.loss_at']) == pytest.approx(
        5.5615234426, rel=rel)
    total = (head_losses(frskd.student, zs, data_samples)['loss_cls']
             + head_losses(frskd.student, zt, data_samples)['loss_cls'] + distill['distill.loss_kl']
             + distill['distill.loss_at'])
    assert float(total) == pytest.approx(12.5763503785, rel=rel)


# ------------------------------------------------------------------------ gradient routing
def test_gradient_routing(frskd):
    frskd.train()
    data = frskd.data_preprocessor(cls_batch(2, 16), training=True)
    losses = frskd.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss_cls', 'self_teacher.loss_cls', 'distill.loss_kl',
                           'distill.loss_at'}
    teacher_params = list(frskd.self_teacher.parameters())
    backbone_params = list(frskd.student.backbone.parameters())

    distill = losses['distill.loss_kl'] + losses['distill.loss_at']
    grads = torch.autograd.grad(distill, teacher_params + backbone_params, retain_graph=True,
                                allow_unused=True)
    teacher_grads = grads[:len(teacher_params)]
    assert all(g is None or not g.any() for g in teacher_grads)
    assert any(g is not None and g.any() for g in grads[len(teacher_params):])

    grads = torch.autograd.grad(losses['self_teacher.loss_cls'], backbone_params,
                                retain_graph=True, allow_unused=True)
    assert any(g is not None and g.any() for g in grads)  # self-teacher CE trains the backbone
    grads = torch.autograd.grad(losses['loss_cls'], teacher_params, allow_unused=True)
    assert all(g is None for g in grads)


# ----------------------------------------------------------------------- train_step
def _train_step_changes_everything(model, size, num_classes):
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                                 weight_decay=1e-4))
    model.train()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    log_vars = model.train_step(cls_batch(4, size, num_classes=num_classes), optim_wrapper)
    assert {'loss', 'loss_cls', 'self_teacher.loss_cls', 'distill.loss_kl',
            'distill.loss_at'} <= set(log_vars)
    assert all(bool(torch.isfinite(torch.as_tensor(v)).all()) for v in log_vars.values())
    changed = {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    for prefix in ('student.backbone.', 'student.head.', 'self_teacher.lateral.',
                   'self_teacher.bottom_up_weights.', 'teacher_head.'):
        assert any(k.startswith(prefix) for k in changed), prefix


def test_train_step_resnet_cifar(frskd):
    _train_step_changes_everything(frskd, 16, 100)


@pytest.mark.slow
@pytest.mark.parametrize('backbone', [
    dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3)),
    dict(type='MobileNetV2', widen_factor=0.5, out_indices=(1, 2, 4, 7)),
])
def test_train_step_other_backbones(mmpretrain_scope, backbone):
    torch.manual_seed(0)
    in_channels = 512 if backbone['type'] == 'ResNet' else 1280
    model = build_model(dict(
        type='mmselfkd.FRSKD',
        student=dict(type='ImageClassifier', backbone=backbone,
                     neck=dict(type='GlobalAveragePooling'),
                     head=dict(type='LinearClsHead', num_classes=10, in_channels=in_channels)),
        self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher', width=2, depth=2)),
        dict(num_classes=10, mean=[127.5] * 3, std=[64.0] * 3))
    # channels read from the backbone (ImageNet ResNet-18 / MobileNetV2 stages 2, 3, 5, conv2)
    expected = [64, 128, 256, 512] if backbone['type'] == 'ResNet' else [16, 16, 48, 1280]
    assert model.self_teacher.in_channels == expected
    _train_step_changes_everything(model, 32, 10)


def test_autocast_keeps_distillation_in_float32(frskd):
    """Mixed precision (CPU bfloat16 autocast here, fp16 with --amp on GPU)."""
    frskd.train()
    data = frskd.data_preprocessor(cls_batch(2, 16), training=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = frskd.loss(data['inputs'], data['data_samples'])
    assert losses['distill.loss_kl'].dtype == torch.float32
    assert losses['distill.loss_at'].dtype == torch.float32
    sum(losses.values()).backward()
    assert frskd.teacher_head.fc.weight.grad is not None
    frskd.zero_grad()


# ------------------------------------------------------------------------------ variants
def test_mixup_soft_labels_reach_both_heads(mmpretrain_scope):
    torch.manual_seed(0)
    model = build_from_config(osp.join(REPO_ROOT, 'configs/frskd/resnet18_cifar100_mixup.py'))
    model.train()
    np.random.seed(0)
    data = model.data_preprocessor(cls_batch(4, 16), training=True)
    scores = torch.stack([s.gt_score for s in data['data_samples']])
    assert torch.allclose(scores.sum(1), torch.ones(4)) and bool((scores > 0).sum(1).max() == 2)
    losses = model.loss(data['inputs'], data['data_samples'])
    with torch.no_grad():  # BatchNorm in train mode: the same batch gives the same outputs
        feats = model.extract_stage_features(data['inputs'])
        _, teacher_logits = model.self_teacher_forward(feats)
        student_logits = classifier_logits(model.student, feats)
    # official mixed_criterion lam*CE(y_a)+(1-lam)*CE(y_b) == CE with the mixed soft label
    for key, logits in (('loss_cls', student_logits), ('self_teacher.loss_cls', teacher_logits)):
        expected = -(scores * F.log_softmax(logits, 1)).sum(1).mean()
        assert float(losses[key].detach()) == pytest.approx(float(expected), rel=1e-5)


def test_aggregate_rotations_matches_official_indexing():
    joint = torch.randn(3 * 4, 5 * 4)
    official = torch.stack([joint[i::4, i::4] for i in range(4)], 1).mean(1)
    assert torch.equal(FRSKD.aggregate_rotations(joint), official)


@pytest.mark.slow
def test_sla_loss_matches_official_formula(mmpretrain_scope):
    torch.manual_seed(0)
    model = build_from_config(osp.join(REPO_ROOT, 'configs/frskd/resnet18_cifar100_sla.py'))
    assert num_params(model.sla_heads) == (512 + 1) * 400 + (1024 + 1) * 400
    model.train()
    data = model.data_preprocessor(cls_batch(2, 16), training=True)
    x, labels = data['inputs'], torch.cat([s.gt_label for s in data['data_samples']])
    losses = model.loss(x, data['data_samples'])
    assert set(losses) == {'loss_cls', 'self_teacher.loss_cls', 'sla.loss_joint_student',
                           'sla.loss_joint_self_teacher', 'sla.loss_kl', 'distill.loss_kl',
                           'distill.loss_at'}

    # the official sla.py + Attention, written out independently (T 4, alpha 2, beta 100)
    def kd(s, t):
        return F.kl_div(F.log_softmax(s / 4, 1), F.softmax(t / 4, 1), reduction='sum') * 16 / len(s)

    def at(f):
        return F.normalize(f.pow(2).mean(1).view(f.size(0), -1))

    with torch.no_grad():
        backbone, teacher = model.student.backbone, model.self_teacher
        feats = backbone(x)
        outputs = model.student.head(model.student.neck(feats))
        bi_feats = teacher(list(feats))
        bi_outputs = model.teacher_head(bi_feats[-1])
        rot = torch.stack([torch.rot90(x, k, (2, 3)) for k in range(4)], 1).view(-1, *x.shape[1:])
        rot_feats = backbone(rot)
        rot_bi = teacher(list(rot_feats))
        aux = model.sla_heads['student'](F.adaptive_avg_pool2d(rot_feats[-1], 1).flatten(1))
        biaux = model.sla_heads['self_teacher'](F.adaptive_avg_pool2d(rot_bi[-1], 1).flatten(1))
        aux_targets = torch.stack([labels * 4 + i for i in range(4)], 1).view(-1)
        single = F.cross_entropy(outputs, labels) + F.cross_entropy(bi_outputs, labels)
        joint = F.cross_entropy(aux, aux_targets) + F.cross_entropy(biaux, aux_targets)
        aux = torch.stack([aux[i::4, i::4] for i in range(4)], 1).mean(1)
        biaux = torch.stack([biaux[i::4, i::4] for i in range(4)], 1).mean(1)
        sla = kd(outputs, aux) + kd(bi_outputs, biaux)
        o_s, o_t = torch.cat([outputs, aux]), torch.cat([bi_outputs, biaux])
        g_s = [torch.cat([f, r]) for f, r in zip(feats, rot_feats)]
        g_t = [torch.cat([f, r]) for f, r in zip(bi_feats, rot_bi)]
        distill = 2 * kd(o_s, o_t) + 100 * sum(
            (at(s) - at(t)).pow(2).mean() for s, t in zip(g_s, g_t))
        expected = single + joint + 1.0 * sla + distill
    assert float(sum(losses.values()).detach()) == pytest.approx(float(expected), rel=1e-5)
    # float32 KL of nearby distributions: compare absolutely
    assert float(losses['sla.loss_kl'].detach()) == pytest.approx(float(sla), abs=1e-5)


def test_sla_refuses_batch_augments(mmpretrain_scope):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/frskd/resnet18_cifar100_mixup.py'))
    cfg.model.sla_weight = 1.0
    with pytest.raises(ValueError, match=r'model\.sla_weight'):
        build_model(cfg.model, cfg.data_preprocessor)


# ------------------------------------------------------------------------ configs and export
@pytest.mark.slow
def test_configs_follow_the_official_recipe(mmpretrain_scope):
    cfg = Config.fromfile(CONFIG)
    baseline = Config.fromfile(osp.join(REPO_ROOT, 'configs/baseline/resnet18_cifar100.py'))
    student = copy.deepcopy(cfg.model.student)
    assert student.backbone.pop('out_indices') == (0, 1, 2, 3)
    baseline.model.backbone.pop('out_indices')
    assert student.to_dict() == baseline.model.to_dict()  # the fair baseline's classifier
    for key in ('data_preprocessor', 'optim_wrapper', 'param_scheduler', 'train_cfg',
                'train_dataloader', 'val_dataloader'):
        assert cfg[key] == baseline[key], key
    assert (cfg.model.alpha, cfg.model.beta, cfg.model.temperature) == (2.0, 100.0, 4.0)
    assert cfg.data_preprocessor.mean == [125.307, 122.961, 113.858]
    assert cfg.data_preprocessor.std == [51.587, 50.847, 51.255]
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1, momentum=0.9,
                                               weight_decay=1e-4, nesterov=False, fused=True)
    assert cfg.param_scheduler.milestones == [100, 150]
    assert cfg.train_cfg.max_epochs == 200 and cfg.train_dataloader.batch_size == 128

    variants = {'mixup': ('Mixup', 0.2), 'cutmix': ('CutMix', 1.0)}
    for name, (kind, alpha) in variants.items():
        variant = Config.fromfile(osp.join(REPO_ROOT, f'configs/frskd/resnet18_cifar100_{name}.py'))
        assert variant.model.student.train_cfg.augments == dict(type=kind, alpha=alpha)
        model = build_model(variant.model, variant.data_preprocessor)
        assert type(model.data_preprocessor.batch_augments.augments[0]).__name__ == kind

    imagenet = Config.fromfile(osp.join(REPO_ROOT, 'configs/frskd/resnet18_imagenet.py'))
    assert imagenet.default_scope == 'mmpretrain'
    optimizer = {k: v for k, v in imagenet.optim_wrapper.optimizer.items() if k != '_scope_'}
    assert optimizer == dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert imagenet.train_dataloader.batch_size * 8 == imagenet.auto_scale_lr.base_batch_size
    model = build_model(imagenet.model, imagenet.data_preprocessor)
    assert model.self_teacher.in_channels == CIFAR_CHANNELS
    assert num_params(model.student) == 11_689_512  # torchvision / mmpretrain ResNet-18


def test_export_gives_a_plain_classifier_with_equal_predictions(frskd):
    cfg = Config.fromfile(CONFIG)
    prefix = FRSKD.deploy_prefix(cfg.model.to_dict())
    assert prefix == 'student.'
    frskd.train()
    frskd.loss(**frskd.data_preprocessor(cls_batch(4, 16), training=True))  # move BN statistics
    frskd.eval()
    state = {k[len(prefix):]: v for k, v in frskd.state_dict().items() if k.startswith(prefix)}
    torch.manual_seed(1)
    plain = build_model(cfg.model.student, cfg.data_preprocessor).eval()
    plain.load_state_dict(state, strict=True)
    data = frskd.data_preprocessor(cls_batch(3, 32, seed=5), training=False)
    assert_equal_predictions(frskd, plain, data['inputs'], data['data_samples'])


# ------------------------------------------------------------------------ end to end (tools)
@pytest.mark.slow
def test_tools_end_to_end(tmp_path, tiny_cifar100, cifar_options, tool_runner,
                          mmpretrain_scope):
    work = tmp_path / 'work'
    opts = cifar_options(tiny_cifar100, batch_size=4) + ['train_dataloader.dataset.indices=8']
    # the first epoch is a 2-process (gloo) run; its checkpoint resumes in one process
    proc = tool_runner(['tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work),
                        '--cfg-options', *opts], env={'PORT': '29651'})
    assert 'Distributed training: True' in proc.stdout + proc.stderr
    assert (work / 'epoch_1.pth').exists()
    resume = [o for o in opts if not o.startswith('train_cfg.max_epochs')]
    proc = tool_runner(['tools/train.py', CONFIG, '--work-dir', str(work), '--resume',
                        '--cfg-options', *resume, 'train_cfg.max_epochs=2',
                        'custom_hooks.0.parts=[model,backbone]'])
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    ckpt = work / 'epoch_2.pth'
    assert ckpt.exists()
    proc = tool_runner(['tools/test.py', CONFIG, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                        '--cfg-options', *opts])
    assert 'accuracy/top1' in proc.stdout + proc.stderr

    out = tmp_path / 'student.pth'
    tool_runner(['tools/export.py', str(ckpt), str(out)])
    exported = torch.load(out, weights_only=True)
    state = exported.get('state_dict', exported)
    assert not any(k.startswith(('student.', 'self_teacher.')) for k in state)

    # ExportDeployableHook wrote both parts beside epoch_2.pth: the same student tensors
    hooked = torch.load(work / 'epoch_2_deploy.pth', weights_only=True)['state_dict']
    assert hooked.keys() == state.keys() and all(torch.equal(hooked[k], state[k]) for k in state)
    backbone = torch.load(work / 'epoch_2_backbone.pth', weights_only=True)['state_dict']
    assert backbone.keys() == {k for k in state if k.startswith('backbone.')}

    cfg = Config.fromfile(CONFIG)
    plain = build_model(cfg.model.student, cfg.data_preprocessor).eval()
    plain.load_state_dict(state, strict=True)
    wrapper = build_model(cfg.model, cfg.data_preprocessor).eval()
    wrapper.load_state_dict(torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict'])
    data = wrapper.data_preprocessor(cls_batch(4, 32, seed=3), training=False)
    assert_equal_predictions(wrapper, plain, data['inputs'], data['data_samples'])
