"""FRSKD around mmseg segmentors and mmdet detectors: the task adapters, the official
segmentation schedule (MingiJi/FRSKD ``segmentation/``), goldens of the dense distillation
terms, gradient routing, one head forward, train_step, and end-to-end tool runs (2-process
training, resume, test, export, stock-config reload) on tiny VOC and COCO sets."""
import copy
import math
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from mmselfkd.engine.hooks import DistillRampupHook, delayed_rampup_factor
from mmselfkd.models.algorithms.task_adapters import DetectionAdapter, SegmentationAdapter
from mmselfkd.models.losses import attention_transfer, bernoulli_kl

from conftest import (REPO_ROOT, build_model, checkpoint_state_dict, det_options,  # noqa: E402
                      loss_total, make_coco, make_voc_aug, num_params, seg_options,
                      sine_tensor)

SEG = 'configs/frskd/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512.py'
SEG_BASE = 'configs/baseline/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512_frskd-dense.py'
RETINA = 'configs/frskd/retinanet_r18_fpn_1x_coco.py'
RETINA_BASE = 'configs/baseline/retinanet_r18_fpn_1x_coco_frskd-dense.py'
FRCNN = 'configs/frskd/faster-rcnn_r18_fpn_1x_coco.py'
NO_DOWNLOAD = {  # ImageNet init of the shipped configs: never downloaded in tests
    SEG: {'model.student.pretrained': None},
    RETINA: {'model.student.backbone.init_cfg': None},
    FRCNN: {'model.student.backbone.init_cfg': None},
}


def load_config(path, options=None):
    cfg = Config.fromfile(osp.join(REPO_ROOT, path))
    cfg.merge_from_dict(dict(NO_DOWNLOAD.get(path, {}), **(options or {})))
    return cfg


def build(model_cfg, scope):
    import mmdet.models  # noqa: F401  (registers the host types)
    import mmseg.models  # noqa: F401
    return build_model(model_cfg, scope=scope)


def seg_batch(num=2, size=32, seed=0):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(num):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             pad_shape=(size, size)))
        labels = torch.randint(0, 21, (1, size, size), generator=gen)
        labels[:, :2] = 255
        sample.gt_sem_seg = PixelData(data=labels)
        samples.append(sample)
    images = [torch.randint(0, 256, (3, size, size), generator=gen, dtype=torch.uint8)
              for _ in range(num)]
    return dict(inputs=images, data_samples=samples)


def det_batch(num=2, size=64, seed=0):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    np.random.seed(seed)
    return demo_mm_inputs(num, [[3, size, size]] * num, num_items=[3] * num, num_classes=80)


@pytest.fixture(scope='module')
def seg_model():
    torch.manual_seed(0)
    cfg = load_config(SEG, {'model.student.data_preprocessor.size': (32, 32)})
    return build(cfg.model, 'mmseg')


@pytest.fixture(scope='module')
def det_models():
    torch.manual_seed(0)
    return {path: build(load_config(path).model, 'mmdet') for path in (RETINA, FRCNN)}


# ------------------------------------------- schedule (official segmentation/main.py)
def test_delayed_rampup_is_the_official_schedule():
    def official(epoch, warmup=40, num_epochs=60):  # segmentation/main.py, written out
        if epoch < warmup:
            return 0.0
        length = num_epochs - warmup
        current = np.clip(epoch + 1 - warmup, 0.0, length)
        return float(np.exp(-5.0 * (1.0 - current / length)**2))

    for epoch in range(60):
        assert delayed_rampup_factor(epoch, 40, 20) == pytest.approx(official(epoch), rel=1e-12)
    assert delayed_rampup_factor(39, 40, 20) == 0.0
    assert delayed_rampup_factor(40, 40, 20) == pytest.approx(math.exp(-5 * 0.95**2))
    assert delayed_rampup_factor(59, 40, 20) == 1.0 == delayed_rampup_factor(10**6, 40, 20)
    assert delayed_rampup_factor(0, 0, 0) == 1.0


def test_rampup_hook_by_iteration_and_epoch(seg_model):
    runner = SimpleNamespace(model=seg_model, iter=0, epoch=0,
                             message_hub=MessageHub.get_instance('frskd_dense_hook'))
    hook = DistillRampupHook(delay=4, rampup=2, by_epoch=False)
    factors = []
    for step in range(7):
        runner.iter = step
        hook.before_train_epoch(runner)  # iteration-based: epochs do not count
        hook.before_train_iter(runner, step)
        factors.append(seg_model.loss_weight_factor)
    assert factors == [0, 0, 0, 0, pytest.approx(math.exp(-1.25)), 1.0, 1.0]
    assert runner.message_hub.get_scalar('train/distill_weight_factor').current() == 1.0
    hook = DistillRampupHook(delay=1, rampup=0)
    runner.epoch = 0
    hook.before_train_epoch(runner)
    assert seg_model.loss_weight_factor == 0.0
    runner.epoch = 1
    hook.before_train_epoch(runner)
    assert seg_model.loss_weight_factor == 1.0
    with pytest.raises(ValueError, match='DistillRampupHook.delay'):
        DistillRampupHook(delay=-1, rampup=2)


# ------------------------------------------------------------------- goldens (float64)
def test_pixel_kl_golden(seg_model):
    """Official DistillKL on the logits resized to the label size (distill.py, T = 1)."""
    student, teacher = sine_tensor((2, 5, 4, 4), 0.0, 3.0), sine_tensor((2, 5, 4, 4), 1.0, 3.0)
    samples = seg_batch(2, 16)['data_samples']
    adapter = seg_model.adapter
    for temperature, golden in ((1.0, 0.3224901219), (2.0, 0.3669914832)):
        ours = adapter.output_distillation(student, teacher, samples, temperature)
        s = F.interpolate(student, size=(16, 16), mode='bilinear', align_corners=False)
        t = F.interpolate(teacher, size=(16, 16), mode='bilinear', align_corners=False)
        official = F.kl_div(F.log_softmax(s / temperature, 1), F.softmax(t / temperature, 1),
                            reduction='sum') * temperature**2 / (2 * 16 * 16)
        assert ours.dtype == torch.float64
        assert float(ours) == pytest.approx(float(official), rel=1e-10)
        assert float(ours) == pytest.approx(golden, rel=1e-6)
    # equal logits, no divergence; the KL sees every pixel of the label map (ignored included)
    assert float(adapter.output_distillation(student, student, samples, 1.0)) == 0.0


def test_attention_transfer_golden_on_dilated_levels():
    """AT (official Attention.at_loss) on same-size levels of a D8 backbone, float64."""
    fs = [sine_tensor((2, 8, 8, 8), 0.3), sine_tensor((2, 16, 4, 4), 0.5),
          sine_tensor((2, 32, 4, 4), 0.6)]
    ft = [sine_tensor((2, 16, 8, 8), 0.7, 1, 0.11), sine_tensor((2, 32, 4, 4), 0.9, 1, 0.11),
          sine_tensor((2, 64, 4, 4), 1.1, 1, 0.11)]

    def at(f):
        return F.normalize(f.pow(2).mean(1).view(f.size(0), -1))

    official = sum((at(s) - at(t)).pow(2).mean() for s, t in zip(fs, ft))
    ours = sum(attention_transfer(s, t) for s, t in zip(fs, ft))
    assert float(ours) == pytest.approx(float(official), rel=1e-12)
    assert float(ours) == pytest.approx(0.0004744520, rel=1e-6)


def test_bernoulli_kl_golden():
    s, t = sine_tensor((6, 3), 0.0, 3.0), sine_tensor((6, 3), 1.0, 3.0)
    for temperature, golden in ((1.0, 1.0586632628), (2.0, 1.4018580720)):
        p, q = torch.sigmoid(s / temperature), torch.sigmoid(t / temperature)
        direct = (q * torch.log(q / p) + (1 - q) * torch.log((1 - q) / (1 - p))) * temperature**2
        ours = bernoulli_kl(s, t, temperature)
        assert torch.allclose(ours, direct, rtol=1e-12, atol=0)
        assert float(ours.sum(1).mean()) == pytest.approx(golden, rel=1e-6)


# ----------------------------------------------------- structure and build-time checks
def test_segmentor_structure(seg_model):
    assert isinstance(seg_model.adapter, SegmentationAdapter)
    assert (seg_model.alpha, seg_model.beta, seg_model.temperature) == (1.0, 50.0, 1.0)
    assert seg_model.self_teacher.in_channels == [64, 128, 256, 512]  # D8: 1/4, 1/8, 1/8, 1/8
    assert not hasattr(seg_model.self_teacher, 'classifier')
    # teacher decode head: the student's type and config on the refined maps (1024 channels)
    student_head, teacher_head = seg_model.student.decode_head, seg_model.teacher_head
    assert type(teacher_head) is type(student_head) and type(student_head).__name__ == 'ASPPHead'
    assert (teacher_head.in_channels, teacher_head.in_index) == (1024, 3)
    assert teacher_head.channels == student_head.channels == 128
    # the student is exactly the baseline segmentor (its parameters and keys)
    baseline = build(load_config(SEG_BASE, {'model.pretrained': None}).model, 'mmseg')
    assert num_params(seg_model.student) == num_params(baseline)
    assert sorted(seg_model.student.state_dict()) == sorted(baseline.state_dict())
    # the CIFAR BiFPNc (same stage channels, 6,375,794) less its 1024->100 classifier
    assert num_params(seg_model.self_teacher) == 6_375_794 - (1024 * 100 + 100)


def test_detector_structure(det_models):
    retina, frcnn = det_models[RETINA], det_models[FRCNN]
    for model, head in ((retina, 'bbox_head'), (frcnn, 'rpn_head')):
        assert isinstance(model.adapter, DetectionAdapter)
        assert model.self_teacher.in_channels == [256] * 5  # the five FPN levels
        student_head = getattr(model.student, head)
        assert type(model.teacher_head) is type(student_head)
        assert num_params(model.teacher_head) == num_params(student_head)
        assert model.teacher_head.train_cfg == student_head.train_cfg
    assert not retina.adapter.two_stage and frcnn.adapter.two_stage


def test_build_errors():
    cfg = load_config(SEG)
    wrong = copy.deepcopy(cfg.model)
    wrong.self_teacher.num_classes = 21
    with pytest.raises(ValueError, match=r'model\.self_teacher\.num_classes must not be set'):
        build(wrong, 'mmseg')
    wrong = copy.deepcopy(cfg.model)
    wrong.sla_weight = 1.0
    with pytest.raises(ValueError, match=r'model\.sla_weight'):
        build(wrong, 'mmseg')


def test_adapter_follows_the_base_class_not_the_package():
    """A segmentor or detector class defined outside mmseg/mmdet (here, in this test module)
    gets the adapter of its task, and its teacher head builds in the host's scope."""
    import mmdet.models
    import mmseg.models

    class UserSegmentor(mmseg.models.EncoderDecoder):
        pass

    class UserDetector(mmdet.models.RetinaNet):
        pass

    assert UserSegmentor.__module__ == UserDetector.__module__ == __name__
    mmseg.registry.MODELS.register_module(module=UserSegmentor, force=True)
    mmdet.registry.MODELS.register_module(module=UserDetector, force=True)
    for path, scope, user_type, adapter in ((SEG, 'mmseg', 'UserSegmentor', SegmentationAdapter),
                                            (RETINA, 'mmdet', 'UserDetector', DetectionAdapter)):
        cfg = load_config(path, {'model.student.type': user_type})
        model = build(cfg.model, scope)
        assert type(model.student) in (UserSegmentor, UserDetector)
        assert type(model.adapter) is adapter
        assert type(model.teacher_head).__module__.startswith(scope)


# ------------------------------------------------------------ gradient routing, one forward
def _count_forwards(*modules):
    counts = [0] * len(modules)
    handles = []
    for index, module in enumerate(modules):
        def hook(_module, _args, _out, index=index):
            counts[index] += 1
        handles.append(module.register_forward_hook(hook))
    return counts, handles


def _check_routing(model, losses, teacher_loss_keys):
    teacher = list(model.self_teacher.parameters()) + list(model.teacher_head.parameters())
    backbone = [p for p in model.student.backbone.parameters() if p.requires_grad]  # frozen_stages
    distill = losses['distill.loss_kl'] + losses['distill.loss_at']
    grads = torch.autograd.grad(distill, teacher + backbone, retain_graph=True,
                                allow_unused=True)
    assert all(g is None or not g.any() for g in grads[:len(teacher)])  # teacher side detached
    assert any(g is not None and g.any() for g in grads[len(teacher):])
    teacher_loss = sum(loss_total({k: losses[k]}) for k in teacher_loss_keys)
    head_grads = torch.autograd.grad(teacher_loss, list(model.teacher_head.parameters()) +
                                     backbone, retain_graph=True, allow_unused=True)
    num_head = len(list(model.teacher_head.parameters()))
    assert any(g is not None and g.any() for g in head_grads[:num_head])  # own loss trains it
    assert any(g is not None and g.any() for g in head_grads[num_head:])  # and the backbone
    student_loss = loss_total({k: v for k, v in losses.items()
                          if not k.startswith(('self_teacher.', 'distill.'))})
    grads = torch.autograd.grad(student_loss, teacher, allow_unused=True)
    assert all(g is None for g in grads)


def test_segmentor_gradient_routing_and_single_head_forward(seg_model):
    seg_model.train()
    seg_model.loss_weight_factor = 1.0
    data = seg_model.data_preprocessor(seg_batch(), training=True)
    counts, handles = _count_forwards(seg_model.student.decode_head, seg_model.teacher_head,
                                      seg_model.student.backbone)
    torch.manual_seed(0)  # the heads' dropout
    losses = seg_model.loss(data['inputs'], data['data_samples'])
    for handle in handles:
        handle.remove()
    assert counts == [1, 1, 1]
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce', 'aux.acc_seg',
                           'self_teacher.decode.loss_ce', 'self_teacher.decode.acc_seg',
                           'distill.loss_kl', 'distill.loss_at'}
    _check_routing(seg_model, losses, ['self_teacher.decode.loss_ce'])
    # the ramp-up factor scales both distillation terms, nothing else
    seg_model.loss_weight_factor = 0.25
    torch.manual_seed(0)
    quarter = seg_model.loss(data['inputs'], data['data_samples'])
    seg_model.loss_weight_factor = 1.0
    for key in ('distill.loss_kl', 'distill.loss_at'):
        expected = 0.25 * float(losses[key].detach())
        assert float(quarter[key].detach()) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize('path', [RETINA, FRCNN])
def test_detector_gradient_routing_and_single_head_forward(det_models, path):
    model = det_models[path]
    model.train()
    data = model.data_preprocessor(det_batch(), training=True)
    head = model.student.rpn_head if model.adapter.two_stage else model.student.bbox_head
    counts, handles = _count_forwards(head, model.teacher_head, model.student.backbone)
    losses = model.loss(data['inputs'], data['data_samples'])
    for handle in handles:
        handle.remove()
    assert counts == [1, 1, 1]
    if model.adapter.two_stage:
        expected = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'acc', 'loss_bbox',
                    'self_teacher.loss_rpn_cls', 'self_teacher.loss_rpn_bbox'}
    else:
        expected = {'loss_cls', 'loss_bbox', 'self_teacher.loss_cls', 'self_teacher.loss_bbox'}
    assert set(losses) == expected | {'distill.loss_kl', 'distill.loss_at'}
    teacher_keys = [k for k in losses if k.startswith('self_teacher.')]
    _check_routing(model, losses, teacher_keys)
    # the RPN's objectness is one sigmoid per anchor, RetinaNet's one per class
    assert head.use_sigmoid_cls
    assert head.cls_out_channels == (1 if model.adapter.two_stage else 80)


# -------------------------------------------------------------------------- train_step
def _train_step_changes_everything(model, data, prefixes):
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    model.train()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    log_vars = model.train_step(data, optim_wrapper)
    assert {'loss', 'distill.loss_kl', 'distill.loss_at'} <= set(log_vars)
    assert all(bool(torch.isfinite(torch.as_tensor(v).detach()).all()) for v in log_vars.values())
    changed = {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in changed), prefix


def test_train_step_segmentor(seg_model):
    _train_step_changes_everything(
        seg_model, seg_batch(), ('student.backbone.layer4.', 'student.decode_head.',
                                 'student.auxiliary_head.', 'self_teacher.lateral.',
                                 'self_teacher.bottom_up_weights.', 'teacher_head.'))


@pytest.mark.parametrize('path', [RETINA, FRCNN])
def test_train_step_detector(det_models, path):
    head = 'rpn_head' if path == FRCNN else 'bbox_head'
    prefixes = ['student.backbone.layer4.', 'student.neck.', f'student.{head}.',
                'self_teacher.lateral.', 'teacher_head.']
    if path == FRCNN:
        prefixes.append('student.roi_head.')
    _train_step_changes_everything(det_models[path], det_batch(seed=1), prefixes)


# ----------------------------------------------------------------------- every config
@pytest.mark.slow
def test_shipped_dense_configs_build_and_pair_with_their_baselines():
    import glob
    configs = sorted(glob.glob(osp.join(REPO_ROOT, 'configs/frskd/*_r*-*.py')) +
                     glob.glob(osp.join(REPO_ROOT, 'configs/frskd/*_fpn_*.py')))
    assert len(configs) == 8
    for path in configs:
        name = osp.splitext(osp.basename(path))[0]
        cfg = Config.fromfile(path)
        baseline = Config.fromfile(osp.join(REPO_ROOT, f'configs/baseline/{name}_frskd-dense.py'))
        assert cfg.default_scope == baseline.default_scope in ('mmseg', 'mmdet'), name
        assert cfg.model.student == baseline.model, name  # same model, init included
        for key in ('train_dataloader', 'val_dataloader', 'optim_wrapper', 'param_scheduler',
                    'train_cfg', 'val_evaluator'):
            assert cfg[key] == baseline[key], (name, key)
        assert (cfg.model.alpha, cfg.model.beta, cfg.model.temperature) == (1.0, 50.0, 1.0)
        hook = cfg.custom_hooks[0]
        assert hook.type == 'mmselfkd.DistillRampupHook'
        if cfg.default_scope == 'mmseg':  # 40/60 off, 20/60 ramp-up, in iterations
            iters = cfg.train_cfg.max_iters
            assert not hook.by_epoch and hook.delay + hook.rampup == iters
            assert hook.delay == round(iters * 40 / 60)
        else:
            assert hook.by_epoch and (hook.delay, hook.rampup) == (8, 4)
            assert cfg.train_cfg.max_epochs == 12
    # (tests/test_configs.py builds every shipped config)


# ----------------------------------------------------------------------- end to end
def _student_options(options):
    """Shrinking options of a plain config, moved under ``model.student``."""
    return [o.replace('model.', 'model.student.', 1) if o.startswith('model.') else o
            for o in options]


def _bn(prefix, heads):
    # gloo on CPU cannot run SyncBN (mmseg's default); the Runner reverts it only without DDP
    return [f'{prefix}.{h}.norm_cfg.type=BN' for h in heads]


def _metric(log, key, mode):
    """The last ``key`` value logged by a ``mode`` ('val' or 'test') loop."""
    lines = [line for line in log.splitlines()
             if key in line and (f'Iter({mode})' in line or f'Epoch({mode})' in line)]
    assert lines, log[-3000:]
    return lines[-1].split(key)[1].split()[0]


def _flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for item in outputs for t in _flatten(item)]


def _equal_outputs(cfg_path, base_path, ckpt, export, options, base_options, scope, batch):
    """The trained wrapper and the stock config loaded with the export give equal outputs."""
    wrapper = build(load_config(cfg_path, options).model, scope).eval()
    wrapper.load_state_dict(checkpoint_state_dict(ckpt))
    plain = build(load_config(base_path, base_options).model, scope).eval()
    plain.load_state_dict(torch.load(export, weights_only=True)['state_dict'], strict=True)
    data = wrapper.data_preprocessor(batch, training=False)
    with torch.no_grad():
        ours = _flatten(wrapper(data['inputs'], mode='tensor'))
        theirs = _flatten(plain(data['inputs'], mode='tensor'))
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_segmentation_end_to_end(tmp_path, tool_runner):
    voc = make_voc_aug(str(tmp_path / 'voc'))
    plain_opts = seg_options(voc) + ['model.pretrained=None']
    opts = _student_options(plain_opts) + _bn('model.student', [
        'backbone', 'decode_head', 'auxiliary_head']) + ['custom_hooks.0.delay=1',
                                                         'custom_hooks.0.rampup=1']
    work = tmp_path / 'work'
    # the training step of the e2e run is the 2-process (gloo) run
    proc = tool_runner(['tools/dist_train.sh', SEG, '2', '--work-dir', str(work),
                        '--cfg-options', *opts], env={'PORT': '29631'})
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log and 'distill.loss_kl' in log and 'mIoU' in log
    proc = tool_runner(['tools/train.py', SEG, '--work-dir', str(work), '--resume',
                        '--cfg-options', *opts, 'train_cfg.max_iters=3'])
    log = proc.stdout + proc.stderr
    assert 'resumed' in log.lower() and 'Iter(train) [3/3]' in log
    assert 'self_teacher.decode.loss_ce' in log and 'distill_weight_factor: 1.0000' in log
    # the wrapper's validation after the last iteration (the student) ...
    wrapper_miou = _metric(log, 'mIoU:', 'val')
    ckpt = str(work / 'iter_3.pth')
    export = str(tmp_path / 'deeplabv3.pth')
    tool_runner(['tools/export.py', ckpt, export])
    state = torch.load(export, weights_only=True)['state_dict']
    assert state and not any(k.startswith(('student.', 'self_teacher.', 'teacher_head.'))
                             for k in state)
    # ExportDeployableHook wrote the same export beside the checkpoint during training
    hooked = torch.load(str(work / 'iter_3_deploy.pth'), weights_only=True)['state_dict']
    assert hooked.keys() == state.keys()
    assert all(torch.equal(hooked[k], state[k]) for k in state)
    # ... equals the test of the export with the stock mmseg config
    proc = tool_runner(['tools/test.py', SEG_BASE, export, '--work-dir', str(tmp_path / 'test'),
                        '--cfg-options', *plain_opts])
    assert _metric(proc.stdout + proc.stderr, 'mIoU:', 'test') == wrapper_miou
    _equal_outputs(SEG, SEG_BASE, ckpt, export,
                   {'model.student.data_preprocessor.size': (64, 64)},
                   {'model.pretrained': None, 'model.data_preprocessor.size': (64, 64)},
                   'mmseg', seg_batch(2, 64, seed=3))


@pytest.mark.slow
def test_detection_end_to_end(tmp_path, tool_runner):
    coco = make_coco(str(tmp_path / 'coco'))
    plain_opts = det_options(coco) + ['model.backbone.init_cfg=None']
    opts = _student_options(plain_opts) + ['custom_hooks.0.delay=0']
    work = tmp_path / 'work'
    proc = tool_runner(['tools/dist_train.sh', RETINA, '2', '--work-dir', str(work),
                        '--cfg-options', *opts], env={'PORT': '29632'})
    log = proc.stdout + proc.stderr
    assert 'distill.loss_kl' in log and 'self_teacher.loss_cls' in log
    assert 'coco/bbox_mAP' in log
    proc = tool_runner(['tools/train.py', RETINA, '--work-dir', str(work), '--resume',
                        '--cfg-options', *opts, 'train_cfg.max_epochs=2'])
    log = proc.stdout + proc.stderr
    assert 'resumed' in log.lower()
    # the wrapper's validation after epoch 2 (the student) ...
    wrapper_map = _metric(log, 'coco/bbox_mAP:', 'val')
    ckpt = str(work / 'epoch_2.pth')
    export = str(tmp_path / 'retinanet.pth')
    tool_runner(['tools/export.py', ckpt, export])
    # ... equals the test of the export with the stock mmdet config
    proc = tool_runner(['tools/test.py', RETINA_BASE, export, '--work-dir',
                        str(tmp_path / 'test'), '--cfg-options', *plain_opts])
    assert _metric(proc.stdout + proc.stderr, 'coco/bbox_mAP:', 'test') == wrapper_map
    _equal_outputs(RETINA, RETINA_BASE, ckpt, export,
                   {'model.student.bbox_head.num_classes': 3},
                   {'model.backbone.init_cfg': None, 'model.bbox_head.num_classes': 3},
                   'mmdet', det_batch(2, 96, seed=4))
