"""Shared helpers and fixtures: golden-test inputs, models, batches, tiny datasets in real
on-disk formats and the tool runner. Test files import the helpers with
``from conftest import ...``.

``tests/`` has no ``__init__.py`` on purpose: the mmsegmentation wheel installs a top-level
``tests`` package into site-packages.

Two lanes: ``python -m pytest -m "not slow"`` for daily work; ``python -m pytest`` (CI) adds
the tests marked ``slow``: tool runs end to end, builds and train steps of the shipped configs.
"""
import copy
import json
import math
import os
import os.path as osp
import pickle
import subprocess
import sys
from typing import Dict, Optional, Sequence

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')


# ---------------------------------------------------------------- golden-test inputs

def sine_tensor(shape: Sequence[int], phase: float = 0.0, amp: float = 1.0,
                freq: float = 0.37) -> torch.Tensor:
    """``amp * sin(freq * k + phase)`` over the flat index ``k``, float64, in ``shape``.

    The inputs of the golden-value tests: their expected values were computed in float64 by
    running the official repositories' own loss code on these tensors (MingiJi/FRSKD at
    98b87e5, winycg/Self-KD-Lib at ede3062, winycg/HSAKD at 28c8dc2, SJLeo/FFSD at d5cfda9).
    """
    k = torch.arange(math.prod(shape), dtype=torch.float64)
    return (amp * torch.sin(freq * k + phase)).reshape(tuple(shape))


def ramp(h: int) -> torch.Tensor:
    """A ``(1, 1, h, h)`` ramp from 0.2 to 1.2 that gives golden feature maps a spatial
    profile (float64)."""
    return torch.linspace(0.2, 1.2, h * h, dtype=torch.float64).reshape(1, 1, h, h)


def rel_error(value, expected: float) -> float:
    return abs(float(value) - expected) / abs(expected)


# --------------------------------------------------------------------------- models

def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def millions(module: torch.nn.Module) -> float:
    """Parameters in millions, rounded as the papers and official READMEs print them."""
    return round(num_params(module) / 1e6, 3)


def build_model(model_cfg: dict, data_preprocessor: Optional[dict] = None,
                scope: Optional[str] = None):
    """Build a model config as the Runner does (top-level ``data_preprocessor`` injected),
    optionally under a host's default scope (``'mmseg'``, ``'mmdet'``)."""
    from mmengine.registry import MODELS, DefaultScope
    model_cfg = copy.deepcopy(model_cfg)
    if data_preprocessor is not None:
        model_cfg.setdefault('data_preprocessor', data_preprocessor)
    if scope is None:
        return MODELS.build(model_cfg)
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(model_cfg)


def assert_equal_predictions(ours, theirs, inputs, data_samples=None) -> None:
    """Both models (in eval mode) predict exactly the same scores for ``inputs``."""
    with torch.no_grad():
        a = ours(inputs, copy.deepcopy(data_samples), mode='predict')
        b = theirs(inputs, copy.deepcopy(data_samples), mode='predict')
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert torch.equal(x.pred_score, y.pred_score)


def loss_total(losses: Dict[str, torch.Tensor]) -> torch.Tensor:
    """What MMEngine back-propagates: the sum of the values whose key contains ``loss``."""
    return sum(v if isinstance(v, torch.Tensor) else sum(v)
               for k, v in losses.items() if 'loss' in k)


def cls_samples(labels: Sequence[int]) -> list:
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(int(y)) for y in labels]


def cls_batch(num: int, size: int, labels: Optional[Sequence[int]] = None,
              num_classes: int = 100, seed: int = 0) -> dict:
    """A classification batch as the dataloader gives it (uint8 images, DataSamples); without
    ``labels``, random ones drawn after the images from the same generator."""
    generator = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, size, size), generator=generator, dtype=torch.uint8)
              for _ in range(num)]
    if labels is None:
        labels = torch.randint(0, num_classes, (num, ), generator=generator).tolist()
    return dict(inputs=images, data_samples=cls_samples(labels))


def checkpoint_state_dict(path: str) -> dict:
    """The ``state_dict`` of a Runner checkpoint (or of a bare state dict file)."""
    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    return checkpoint.get('state_dict', checkpoint)


def last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


# ------------------------------------------------------------------------- datasets

SEG_CONFIG = 'configs/downstream/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512.py'
DET_CONFIG = 'configs/downstream/retinanet_r18_fpn_1x_coco.py'
DET_CLASSES = ('cat', 'dog', 'bird')


def make_cifar100(root: str, num_train: int = 32, num_test: int = 16, seed: int = 0) -> str:
    """Write ``root/cifar-100-python/{train,test,meta}`` in the official pickle format."""
    rng = np.random.RandomState(seed)
    folder = osp.join(root, 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    for split, num in (('train', num_train), ('test', num_test)):
        fine = [i % 100 for i in range(num)]
        entry = {
            'filenames': [f'{split}_{i}.png' for i in range(num)],
            'batch_label': f'{split} batch',
            'fine_labels': fine,
            'coarse_labels': [label // 5 for label in fine],
            'data': rng.randint(0, 256, (num, 3 * 32 * 32), dtype=np.uint8),
        }
        with open(osp.join(folder, split), 'wb') as f:
            pickle.dump(entry, f)
    meta = {'fine_label_names': [f'class_{i}' for i in range(100)],
            'coarse_label_names': [f'super_{i}' for i in range(20)]}
    with open(osp.join(folder, 'meta'), 'wb') as f:
        pickle.dump(meta, f)
    return root


# ------------------------------------------------ VOC-aug (mmseg) and COCO (mmdet) sets

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


def seg_options(voc_root: str, config: str = SEG_CONFIG) -> list:
    """``--cfg-options`` that shrink a shipped VOC-aug config to the tiny set (64x64)."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    opts = ['model.data_preprocessor.size=(64,64)', 'train_cfg.max_iters=2',
            'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
            'default_hooks.logger.interval=1', 'randomness.seed=0', 'train_dataloader.batch_size=2']
    # the VOC-aug train set is ConcatDataset(train on SegmentationClass, aug on ...Aug)
    for i, dataset in enumerate(cfg.train_dataloader.dataset.datasets):
        prefix = f'train_dataloader.dataset.datasets.{i}'
        resize = pipeline_index(dataset.pipeline, 'RandomResize')
        crop = pipeline_index(dataset.pipeline, 'RandomCrop')
        pad = pipeline_index(dataset.pipeline, 'Pad')  # pads every crop to 512x512
        opts += [f'{prefix}.data_root={voc_root}', f'{prefix}.pipeline.{resize}.scale=(128,64)',
                 f'{prefix}.pipeline.{crop}.crop_size=(64,64)',
                 f'{prefix}.pipeline.{pad}.size=(64,64)']
    for loader in ('val_dataloader', 'test_dataloader'):
        resize = pipeline_index(cfg[loader].dataset.pipeline, 'Resize')
        opts += [f'{loader}.dataset.data_root={voc_root}',
                 f'{loader}.dataset.pipeline.{resize}.scale=(64,64)']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return opts


def det_options(coco_root: str, config: str = DET_CONFIG) -> list:
    """``--cfg-options`` that shrink a shipped COCO config to the tiny 3-class set (128px)."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
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


@pytest.fixture(scope='session')
def tiny_cifar100(tmp_path_factory) -> str:
    """Data root of a 32-train/16-test CIFAR-100 set in the official pickle format."""
    return make_cifar100(str(tmp_path_factory.mktemp('cifar100')))


def tiny_cifar_options(data_root: str, batch_size: int = 8, max_epochs: int = 1) -> list:
    """``--cfg-options`` that shrink a shipped CIFAR config to the tiny set, on the CPU."""
    opts = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}',
                 f'{loader}.dataset.verify_md5=False',
                 f'{loader}.dataset.download=False',
                 f'{loader}.batch_size={batch_size}',
                 f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False']
    opts += [f'train_cfg.max_epochs={max_epochs}',
             'default_hooks.logger.interval=1',
             'randomness.seed=0']
    return opts


def tool_env(env: Optional[dict] = None) -> dict:
    """The environment of a tool run: this one with ``env``, and the directory of the Python
    that runs pytest first on ``PATH``, so the shell tools' ``python`` is this interpreter
    even from a virtual environment that was not activated."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    full_env.update(env or {})
    full_env['PATH'] = osp.dirname(sys.executable) + os.pathsep + full_env.get('PATH', '')
    return full_env


def run_tool(args, timeout: int = 600, env=None, check: bool = True):
    """Run ``python tools/...`` (or ``bash tools/...``) from the repo root, in
    :func:`tool_env`; show the output on failure."""
    full_env = tool_env(env)
    if args[0].endswith('.sh'):
        cmd = ['bash'] + list(args)
    else:
        cmd = [sys.executable] + list(args)
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited with {proc.returncode}\n'
                             f'--- stdout ---\n{proc.stdout[-6000:]}\n'
                             f'--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


@pytest.fixture
def cifar_options():
    return tiny_cifar_options


@pytest.fixture
def tool_runner():
    return run_tool


@pytest.fixture(autouse=False)
def mmpretrain_scope():
    """Register mmpretrain + mmselfkd and make ``mmpretrain`` the default scope."""
    from mmselfkd import register_all_modules
    register_all_modules(host='mmpretrain')
    yield
