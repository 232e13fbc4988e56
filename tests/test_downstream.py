"""A self-distilled backbone transfers to mmseg and mmdet (configs/downstream).

The chain under test is the one the README advertises: a Runner checkpoint of a self-KD
algorithm trained on ImageNet -> ``tools/export.py --part backbone --check`` -> a downstream
config with ``--cfg-options backbone_checkpoint=...`` -> the real mmseg/mmdet training and test
loops on tiny on-disk VOC and COCO sets. The exported tensors are random (seeded), so finding
them in a downstream model can only come from loading the file.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmselfkd.utils.downstream import (BackboneCheckpointError, apply_backbone_checkpoint,
                                       check_backbone_checkpoint)
from mmselfkd.utils.export import build_model_from_config, compare_state_dicts

from conftest import (DET_CONFIG, REPO_ROOT, SEG_CONFIG, build_model,  # noqa: E402
                      checkpoint_state_dict, det_options, make_coco, make_voc_aug, run_tool,
                      seg_options)

DOWNSTREAM_CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'downstream', '*.py')))
SOURCE_CONFIG = 'configs/frskd/resnet18_imagenet.py'  # self-KD on ImageNet, 7x7-stem ResNet-18
CIFAR_CONFIG = 'configs/baseline/resnet18_cifar100.py'  # 3x3-stem ResNet_CIFAR: must not fit
FRCNN_CONFIG = 'configs/downstream/faster-rcnn_r18_fpn_1x_coco.py'


# ----------------------------------------------------------------------------- helpers

def save_runner_checkpoint(config: str, path: str, seed: int) -> dict:
    """Save the model of ``config`` as a Runner-like checkpoint with random (seeded) tensors.

    Every float tensor, BN statistics included, gets a seeded perturbation, so no freshly
    initialised downstream tensor can equal an exported one by chance.
    """
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    model = build_model_from_config(osp.join(REPO_ROOT, config))
    generator = torch.Generator().manual_seed(seed)
    state_dict = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            noise = torch.rand(value.shape, generator=generator)
            value = value * (1 + 0.5 * noise) if key.endswith('running_var') \
                else value + 0.02 * (noise - 0.5)
        else:
            value = torch.full_like(value, 1234)  # num_batches_tracked
        state_dict[key] = value
    torch.save({'meta': {'cfg': cfg.pretty_text, 'epoch': 100, 'iter': 500500},
                'state_dict': state_dict}, path)
    return state_dict


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope='module')
def source_checkpoint(tmp_path_factory):
    """A Runner-like checkpoint of FRSKD on ImageNet (keys ``student.*``, ``self_teacher.*``)."""
    path = str(tmp_path_factory.mktemp('pretrain') / 'epoch_100.pth')
    state_dict = save_runner_checkpoint(SOURCE_CONFIG, path, seed=0)
    assert any(k.startswith('self_teacher.') for k in state_dict)
    return path, state_dict


@pytest.fixture(scope='module')
def exported_backbone(source_checkpoint, tmp_path_factory):
    """``tools/export.py --part backbone --check`` on the ImageNet self-KD checkpoint."""
    ckpt, source = source_checkpoint
    out = str(tmp_path_factory.mktemp('export') / 'backbone.pth')
    proc = run_tool(['tools/export.py', ckpt, out, '--part', 'backbone', '--check', SEG_CONFIG])
    assert f'check against {SEG_CONFIG}: OK' in proc.stdout, proc.stdout
    exported = torch.load(out, weights_only=True)['state_dict']
    # the deployable student's backbone, prefix stripped; no self-teacher, no head
    expected = {k[len('student.'):]: v for k, v in source.items()
                if k.startswith('student.backbone.')}
    assert sorted(exported) == sorted(expected)
    for key, value in expected.items():
        assert torch.equal(exported[key], value), key
    return out, exported


@pytest.fixture(scope='module')
def cifar_stem_backbone(tmp_path_factory):
    """The backbone of a CIFAR ResNet-18 (3x3 stem, no max-pool), exported without checks."""
    root = tmp_path_factory.mktemp('cifar_export')
    ckpt, out = str(root / 'epoch_200.pth'), str(root / 'backbone.pth')
    save_runner_checkpoint(CIFAR_CONFIG, ckpt, seed=1)
    run_tool(['tools/export.py', ckpt, out, '--part', 'backbone'])
    return out


# ----------------------------------------------------------------------------- tests

@pytest.mark.slow
def test_every_downstream_config_takes_the_backbone_from_one_variable():
    # the shipped matrix: {DeepLabV3, PSPNet} x {VOC aug, ADE20K, Cityscapes} and
    # {RetinaNet, Faster R-CNN} x {COCO, VOC0712}, each with ResNet-18 and ResNet-50
    seg = [f'{m}_r{d}-d8_{s}.py' for m in ('deeplabv3', 'pspnet') for d in (18, 50)
           for s in ('4xb4-20k_voc12aug-512x512', '4xb4-80k_ade20k-512x512',
                     '4xb2-80k_cityscapes-512x1024')]
    det = [f'{m}_r{d}_fpn_1x_{s}.py' for m in ('retinanet', 'faster-rcnn') for d in (18, 50)
           for s in ('coco', 'voc0712')]
    assert sorted(osp.basename(c) for c in DOWNSTREAM_CONFIGS) == sorted(seg + det)
    for config in DOWNSTREAM_CONFIGS:
        name = osp.basename(config)
        cfg = Config.fromfile(config)
        assert 'backbone_checkpoint' in cfg and cfg.backbone_checkpoint is None, name
        backbone = cfg.model.backbone
        # the 7x7-stem V1b ResNet that mmpretrain's keys fit, never the base's ResNetV1c
        assert backbone.type == 'ResNet', name
        assert backbone.depth == (18 if '_r18' in name else 50), name
        assert dict(backbone.init_cfg) == dict(type='Pretrained', checkpoint=None,
                                               prefix='backbone.'), name
        if cfg.default_scope == 'mmseg':
            assert cfg.model.pretrained is None, name
            assert backbone.dilations == (1, 1, 2, 4) and backbone.strides == (1, 2, 1, 1), name
        with pytest.raises(BackboneCheckpointError, match='backbone_checkpoint is not set'):
            apply_backbone_checkpoint(cfg)
        cfg.backbone_checkpoint = '/exported/backbone.pth'
        assert apply_backbone_checkpoint(cfg) == '/exported/backbone.pth'
        assert cfg.model.backbone.init_cfg.checkpoint == '/exported/backbone.pth', name


def test_backbone_checkpoint_reaches_the_deployable_network_of_every_algorithm(tmp_path):
    """``backbone_checkpoint`` initialises the deployed network's backbone: FFSD's
    ``architecture``, HSSAKD's ``peer`` with ``deploy='peer'`` (or the student config the peer
    copies), and a host given as ``dict(cfg_path=...)``, whose own backbone init it replaces."""
    from mmselfkd.models.algorithms.base import model_config_from_file
    pretrained = dict(type='Pretrained', checkpoint='/exported/backbone.pth', prefix='backbone.')
    net = dict(type='ImageClassifier', backbone=dict(type='mmselfkd.CIFARResNet', depth=8),
               head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    cases = {
        'ffsd': (dict(type='mmselfkd.FFSD', architecture=net), 'architecture'),
        'student': (dict(type='mmselfkd.HSSAKD', student=net, peer=net), 'student'),
        'peer': (dict(type='mmselfkd.HSSAKD', student=net, peer=net, deploy='peer'), 'peer'),
        'copied_peer': (dict(type='mmselfkd.HSSAKD', student=net, deploy='peer'), 'student'),
        'plain': (net, None),
    }
    for name, (model, field) in cases.items():
        cfg = Config(dict(model=model, backbone_checkpoint='/exported/backbone.pth'))
        assert apply_backbone_checkpoint(cfg) == '/exported/backbone.pth'
        host = cfg.model if field is None else cfg.model[field]
        assert host.backbone.init_cfg == pretrained, name
        others = [k for k in ('student', 'peer') if k in cfg.model and k != field]
        assert all('init_cfg' not in cfg.model[k].backbone for k in others), name

    kaiming = dict(net, backbone=dict(net['backbone'], init_cfg=dict(type='Kaiming',
                                                                       layer='Conv2d')))
    (tmp_path / 'net.py').write_text(f'model = {kaiming!r}\n')
    student = dict(cfg_path=str(tmp_path / 'net.py'))
    cfg = Config(dict(model=dict(type='mmselfkd.FRSKD', student=student),
                      backbone_checkpoint='/exported/backbone.pth'))
    apply_backbone_checkpoint(cfg)
    merged = model_config_from_file(cfg.model.student.to_dict(), 'student')
    assert merged['backbone']['init_cfg'] == pretrained  # no Kaiming keys left behind
    assert merged['backbone']['depth'] == 8


@pytest.mark.slow
def test_mmpretrain_resnet_keys_fit_every_downstream_backbone():
    """Keys and shapes of mmpretrain's ImageNet ResNet-18/50 equal each config's backbone."""
    source = {depth: {f'backbone.{k}': v for k, v in build_model(
        dict(type='ResNet', depth=depth), scope='mmpretrain').state_dict().items()}
        for depth in (18, 50)}
    for config in DOWNSTREAM_CONFIGS:
        cfg = Config.fromfile(config)
        backbone = build_model(cfg.model.backbone, scope=cfg.default_scope)
        target = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
        missing, unexpected, mismatched = compare_state_dicts(
            source[cfg.model.backbone.depth], target, part='backbone')
        assert (missing, unexpected, mismatched) == ([], [], []), osp.basename(config)


@pytest.mark.slow
@pytest.mark.parametrize('config', [SEG_CONFIG, FRCNN_CONFIG])
def test_exported_weights_arrive_after_init_weights(config, exported_backbone):
    path, exported = exported_backbone
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    cfg.merge_from_dict({'backbone_checkpoint': path})
    apply_backbone_checkpoint(cfg)
    model = build_model(cfg.model, scope=cfg.default_scope)
    check_backbone_checkpoint(model, path)  # the check tools/train.py runs: fits exactly
    before = model.backbone.state_dict()
    assert not torch.equal(before['conv1.weight'], exported['backbone.conv1.weight'])
    model.init_weights()
    after = model.backbone.state_dict()
    assert sorted(f'backbone.{k}' for k in after) == sorted(exported)
    for key, value in after.items():
        assert torch.equal(value, exported[f'backbone.{key}']), key


@pytest.mark.slow
def test_cifar_stem_export_is_refused_by_check_and_train(cifar_stem_backbone, tmp_path,
                                                       source_checkpoint, tool_runner):
    ckpt, _ = source_checkpoint
    # --check with a config whose backbone the export does not fit: non-zero, keys named
    cifar_ckpt = osp.join(osp.dirname(cifar_stem_backbone), 'epoch_200.pth')
    proc = tool_runner(['tools/export.py', cifar_ckpt, str(tmp_path / 'again.pth'), '--part',
                        'backbone', '--check', SEG_CONFIG], check=False)
    assert proc.returncode != 0
    assert 'shape mismatch: 1' in proc.stdout and 'backbone.conv1.weight' in proc.stdout
    assert 'FAILED' in proc.stdout
    # tools/train.py stops before any training step, with a message and no traceback
    work_dir = tmp_path / 'work'
    proc = tool_runner(['tools/train.py', SEG_CONFIG, '--work-dir', str(work_dir),
                        '--cfg-options', f'backbone_checkpoint={cifar_stem_backbone}'],
                       check=False)
    assert proc.returncode != 0
    assert 'does not fit model.backbone' in proc.stderr, proc.stderr[-3000:]
    assert 'shape mismatch: backbone.conv1.weight' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr
    assert not glob.glob(str(work_dir / '*.pth'))


@pytest.mark.slow
def test_deeplabv3_trains_and_tests_from_the_export(exported_backbone, tmp_path, tool_runner):
    path, exported = exported_backbone
    opts = seg_options(make_voc_aug(str(tmp_path / 'voc')))
    work_dir = tmp_path / 'seg'
    proc = tool_runner(['tools/train.py', SEG_CONFIG, '--work-dir', str(work_dir),
                        '--cfg-options', f'backbone_checkpoint={path}', *opts])
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log and 'decode.loss_ce' in log and 'mIoU' in log
    ckpt = str(work_dir / 'iter_2.pth')
    trained = checkpoint_state_dict(ckpt)
    # two SGD steps move the exported weights by ~1% at most; a fresh init is >1 away
    for key, value in exported.items():
        if key.endswith('conv1.weight') or key.endswith('conv2.weight'):
            distance = (trained[key] - value).norm() / value.norm()
            assert 0 < distance < 0.1, (key, float(distance))
    proc = tool_runner(['tools/test.py', SEG_CONFIG, ckpt, '--work-dir', str(tmp_path / 'seg_test'),
                        '--cfg-options', *opts])
    assert 'mIoU' in proc.stdout + proc.stderr


@pytest.mark.slow
def test_retinanet_trains_and_tests_from_the_export(exported_backbone, tmp_path, tool_runner):
    path, exported = exported_backbone
    opts = det_options(make_coco(str(tmp_path / 'coco')))
    work_dir = tmp_path / 'det'
    proc = tool_runner(['tools/train.py', DET_CONFIG, '--work-dir', str(work_dir),
                        '--cfg-options', f'backbone_checkpoint={path}', *opts])
    log = proc.stdout + proc.stderr
    assert 'loss_cls' in log and 'coco/bbox_mAP' in log
    ckpt = str(work_dir / 'epoch_1.pth')
    trained = checkpoint_state_dict(ckpt)
    # frozen_stages=1 keeps the stem and layer1, norm_eval every BN statistic: still the export
    frozen = [k for k in exported if k.startswith(('backbone.conv1', 'backbone.bn1',
                                                   'backbone.layer1.'))
              or k.endswith(('running_mean', 'running_var'))]
    assert len(frozen) > 20
    for key in frozen:
        assert torch.equal(trained[key], exported[key]), key
    # the rest trained
    assert not torch.equal(trained['backbone.layer4.1.conv2.weight'],
                           exported['backbone.layer4.1.conv2.weight'])
    proc = tool_runner(['tools/test.py', DET_CONFIG, ckpt, '--work-dir', str(tmp_path / 'det_test'),
                        '--cfg-options', *opts])
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
