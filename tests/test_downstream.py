"""A self-distilled backbone transfers to mmseg and mmdet (configs/downstream, issue 7).

The chain under test is the one the README advertises: a Runner checkpoint of a self-KD
algorithm trained on ImageNet -> ``tools/export.py --part backbone --check`` -> a downstream
config with ``--cfg-options backbone_checkpoint=...`` -> the real mmseg/mmdet training and test
loops on tiny on-disk VOC and COCO sets. The exported tensors are random (seeded), so finding
them in a downstream model can only come from loading the file.
"""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from PIL import Image

from mmselfkd.utils.downstream import (BackboneCheckpointError, apply_backbone_checkpoint,
                                       check_backbone_checkpoint)
from mmselfkd.utils.export import build_model_from_config, compare_state_dicts

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOWNSTREAM_CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'downstream', '*.py')))
SOURCE_CONFIG = 'configs/frskd/resnet18_imagenet.py'  # self-KD on ImageNet, 7x7-stem ResNet-18
CIFAR_CONFIG = 'configs/baseline/resnet18_cifar100.py'  # 3x3-stem ResNet_CIFAR: must not fit
SEG_CONFIG = 'configs/downstream/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512.py'
DET_CONFIG = 'configs/downstream/retinanet_r18_fpn_1x_coco.py'
FRCNN_CONFIG = 'configs/downstream/faster-rcnn_r18_fpn_1x_coco.py'
DET_CLASSES = ('cat', 'dog', 'bird')


# ----------------------------------------------------------------------------- helpers

def build_in_scope(model_cfg: dict, scope: str):
    """Build with ``scope`` as default scope, whatever scope an earlier test left behind."""
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(model_cfg)


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


def pipeline_index(pipeline, transform: str) -> int:
    """Position of ``transform`` in an upstream pipeline (so upstream reorderings do not break)."""
    types = [step['type'] for step in pipeline]
    assert transform in types, f'{transform} not in {types}'
    return types.index(transform)


def make_voc_aug(root: str, num_train: int = 4, num_val: int = 2, size: int = 64) -> str:
    """Pascal VOC 2012 after mmseg's voc_aug.py: palette PNGs, SBD-style grey PNGs, lists."""
    voc = osp.join(root, 'VOCdevkit', 'VOC2012')
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                'ImageSets/Segmentation'):
        os.makedirs(osp.join(voc, sub), exist_ok=True)
    rng = np.random.RandomState(0)
    palette = rng.randint(0, 256, 256 * 3).astype(np.uint8).tolist()
    names = [f'2012_{i:06d}' for i in range(num_train + num_val)]
    for name in names:
        image = rng.randint(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(image).save(osp.join(voc, 'JPEGImages', f'{name}.jpg'))
        label = np.repeat(np.repeat(rng.randint(0, 21, (4, 4)), size // 4, 0), size // 4, 1)
        label[:2] = 255  # VOC's ignore value on the object borders
        label = label.astype(np.uint8)
        indexed = Image.fromarray(label, mode='P')
        indexed.putpalette(palette)
        indexed.save(osp.join(voc, 'SegmentationClass', f'{name}.png'))
        Image.fromarray(label, mode='L').save(osp.join(voc, 'SegmentationClassAug', f'{name}.png'))
    lists = {'train': names[:num_train], 'aug': names[:num_train], 'val': names[num_train:]}
    for split, items in lists.items():
        with open(osp.join(voc, 'ImageSets', 'Segmentation', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(items) + '\n')
    return voc


def make_coco(root: str, num_train: int = 4, num_val: int = 2) -> str:
    """COCO-format detection set: images/*.jpg, annotations/instances_{train,val}.json."""
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    rng = np.random.RandomState(1)
    categories = [{'id': i + 1, 'name': name, 'supercategory': 'animal'}
                  for i, name in enumerate(DET_CLASSES)]
    image_id = ann_id = 0
    for split, num in (('train', num_train), ('val', num_val)):
        images, annotations = [], []
        for _ in range(num):
            image_id += 1
            width, height = 128, 96
            file_name = f'{split}_{image_id:04d}.jpg'
            Image.fromarray(rng.randint(0, 256, (height, width, 3), dtype=np.uint8)).save(
                osp.join(root, 'images', file_name))
            images.append({'id': image_id, 'file_name': file_name, 'width': width,
                           'height': height})
            for k in range(3):
                ann_id += 1
                x, y = float(rng.randint(0, 60)), float(rng.randint(0, 40))
                w, h = float(rng.randint(20, 60)), float(rng.randint(20, 50))
                annotations.append({'id': ann_id, 'image_id': image_id, 'category_id': k + 1,
                                    'bbox': [x, y, w, h], 'area': w * h, 'iscrowd': 0,
                                    'segmentation': [[x, y, x + w, y, x + w, y + h, x, y + h]]})
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump({'images': images, 'annotations': annotations,
                       'categories': categories}, f)
    return root


def seg_options(voc_root: str) -> list:
    """``--cfg-options`` that shrink the shipped VOC-aug config to the tiny set (64x64)."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, SEG_CONFIG))
    opts = ['model.data_preprocessor.size=(64,64)', 'train_cfg.max_iters=2',
            'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
            'default_hooks.logger.interval=1', 'randomness.seed=0', 'train_dataloader.batch_size=2']
    # the VOC-aug train set is ConcatDataset(train on SegmentationClass, aug on ...Aug)
    for i, dataset in enumerate(cfg.train_dataloader.dataset.datasets):
        prefix = f'train_dataloader.dataset.datasets.{i}'
        resize = pipeline_index(dataset.pipeline, 'RandomResize')
        crop = pipeline_index(dataset.pipeline, 'RandomCrop')
        opts += [f'{prefix}.data_root={voc_root}', f'{prefix}.pipeline.{resize}.scale=(128,64)',
                 f'{prefix}.pipeline.{crop}.crop_size=(64,64)']
    for loader in ('val_dataloader', 'test_dataloader'):
        resize = pipeline_index(cfg[loader].dataset.pipeline, 'Resize')
        opts += [f'{loader}.dataset.data_root={voc_root}',
                 f'{loader}.dataset.pipeline.{resize}.scale=(64,64)']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return opts


def det_options(coco_root: str) -> list:
    """``--cfg-options`` that shrink the shipped COCO config to the tiny 3-class set (128px)."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, DET_CONFIG))
    classes = '(' + ','.join(DET_CLASSES) + ')'
    # score_thr=0: an almost untrained RetinaNet scores below the default 0.05 everywhere, and
    # CocoMetric reports nothing for an empty result set
    opts = [f'model.bbox_head.num_classes={len(DET_CLASSES)}', 'model.test_cfg.score_thr=0.0',
            'train_cfg.max_epochs=1',
            'default_hooks.logger.interval=1', 'randomness.seed=0',
            'train_dataloader.batch_size=2']
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        resize = pipeline_index(cfg[loader].dataset.pipeline, 'Resize')
        opts += [f'{loader}.dataset.data_root={coco_root}/',
                 f'{loader}.dataset.ann_file=annotations/instances_{split}.json',
                 f'{loader}.dataset.data_prefix.img=images/',
                 f'{loader}.dataset.metainfo.classes={classes}',
                 f'{loader}.dataset.pipeline.{resize}.scale=(128,128)',
                 f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    for evaluator in ('val_evaluator', 'test_evaluator'):
        opts.append(f'{evaluator}.ann_file={coco_root}/annotations/instances_val.json')
    return opts


def load_state_dict(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


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
    from conftest import run_tool
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
    from conftest import run_tool
    root = tmp_path_factory.mktemp('cifar_export')
    ckpt, out = str(root / 'epoch_200.pth'), str(root / 'backbone.pth')
    save_runner_checkpoint(CIFAR_CONFIG, ckpt, seed=1)
    run_tool(['tools/export.py', ckpt, out, '--part', 'backbone'])
    return out


# ----------------------------------------------------------------------------- tests

def test_every_downstream_config_takes_the_backbone_from_one_variable():
    # the matrix: {DeepLabV3, PSPNet} x {VOC aug, ADE20K, Cityscapes} and
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


def test_mmpretrain_resnet_keys_fit_every_downstream_backbone():
    """Keys and shapes of mmpretrain's ImageNet ResNet-18/50 equal each config's backbone."""
    source = {depth: {f'backbone.{k}': v for k, v in build_in_scope(
        dict(type='ResNet', depth=depth), 'mmpretrain').state_dict().items()}
        for depth in (18, 50)}
    for config in DOWNSTREAM_CONFIGS:
        cfg = Config.fromfile(config)
        backbone = build_in_scope(cfg.model.backbone, cfg.default_scope)
        target = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
        missing, unexpected, mismatched = compare_state_dicts(
            source[cfg.model.backbone.depth], target, part='backbone')
        assert (missing, unexpected, mismatched) == ([], [], []), osp.basename(config)


@pytest.mark.parametrize('config', [SEG_CONFIG, FRCNN_CONFIG])
def test_exported_weights_arrive_after_init_weights(config, exported_backbone):
    path, exported = exported_backbone
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    cfg.merge_from_dict({'backbone_checkpoint': path})
    apply_backbone_checkpoint(cfg)
    model = build_in_scope(cfg.model, cfg.default_scope)
    check_backbone_checkpoint(model, path)  # the check tools/train.py runs: fits exactly
    before = model.backbone.state_dict()
    assert not torch.equal(before['conv1.weight'], exported['backbone.conv1.weight'])
    model.init_weights()
    after = model.backbone.state_dict()
    assert sorted(f'backbone.{k}' for k in after) == sorted(exported)
    for key, value in after.items():
        assert torch.equal(value, exported[f'backbone.{key}']), key


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
    trained = load_state_dict(ckpt)
    # two SGD steps move the exported weights by ~1e-4 (relative); a fresh init is ~2 away
    for key, value in exported.items():
        if key.endswith('conv1.weight') or key.endswith('conv2.weight'):
            distance = (trained[key] - value).norm() / value.norm()
            assert 0 < distance < 0.01, (key, float(distance))
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
    trained = load_state_dict(ckpt)
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
