"""Bad data and bad method configs stop before the first training step with a message that
names the file or config field and the expected value: through the dataset class directly,
and through ``tools/train.py`` (exit 1, no traceback, no checkpoint)."""
import glob
import os.path as osp
import pickle

import numpy as np
import pytest

from conftest import make_cifar100, run_tool, tiny_cifar_options

BASELINE = 'configs/baseline/resnet18_cifar100.py'


def rewrite_split(root, split='train', **changes):
    """Replace entries of ``root/cifar-100-python/<split>`` (written by make_cifar100)."""
    path = osp.join(root, 'cifar-100-python', split)
    with open(path, 'rb') as f:
        entry = pickle.load(f)
    entry.update(changes)
    with open(path, 'wb') as f:
        pickle.dump(entry, f)
    return path


def build_cifar(root, split='train'):
    from mmselfkd.datasets import CIFAR100
    return CIFAR100(data_root=root, split=split, verify_md5=False, download=False,
                    pipeline=[])


# ------------------------------------------------------------- the dataset class itself

def test_well_formed_tiny_cifar_loads(tmp_path):
    dataset = build_cifar(make_cifar100(str(tmp_path), num_train=8, num_test=4))
    assert len(dataset) == 8 and dataset[3]['gt_label'] == 3


@pytest.mark.parametrize('changes, message', [
    # 48 rows of 1024 values: mmpretrain would silently make 16 images of them
    (dict(data=np.zeros((48, 1024), np.uint8), fine_labels=list(range(48))),
     r'"data" has shape \(48, 1024\) of uint8; CIFAR rows are 3x32x32 images, expected '
     r'shape \(N, 3072\) of uint8'),
    (dict(data=np.zeros((8, 3072), np.float32)),
     r'"data" has shape \(8, 3072\) of float32.*expected shape \(N, 3072\) of uint8'),
    (dict(fine_labels=list(range(7))),
     r'7 labels in "fine_labels" for 8 rows of "data"; expected one label per row'),
    (dict(fine_labels=[0, 1, 2, 3, 4, 5, 6, 100]),
     r'"fine_labels" must be integers in \[0, 100\) \(the 100 classes of the dataset\), '
     r'found int64 values from 0 to 100'),
    (dict(fine_labels=[-1, 1, 2, 3, 4, 5, 6, 7]), r'found int64 values from -1 to 7'),
])
def test_malformed_cifar_file_is_a_data_error_naming_the_file(tmp_path, changes, message):
    from mmselfkd.utils.errors import DataError
    root = make_cifar100(str(tmp_path), num_train=8, num_test=4)
    path = rewrite_split(root, **changes)
    with pytest.raises(DataError, match=message) as error:
        build_cifar(root)
    assert path in str(error.value)
    build_cifar(root, split='test')  # the intact split still loads


def test_pickle_without_cifar_keys_is_a_data_error(tmp_path):
    from mmselfkd.utils.errors import DataError
    root = make_cifar100(str(tmp_path), num_train=8, num_test=4)
    with open(osp.join(root, 'cifar-100-python', 'test'), 'wb') as f:
        pickle.dump({'images': np.zeros((4, 3072), np.uint8)}, f)
    with pytest.raises(DataError, match=r'is not a CIFAR pickle: expected a dict with "data" '
                       r'and "fine_labels", found \[\'images\'\]'):
        build_cifar(root, split='test')


# ----------------------------------------------------------------- through tools/train.py

def train_fails_cleanly(tmp_path, config, data_root, *options):
    """Run tools/train.py; it must exit 1 with ``error: ...``, no traceback, no checkpoint."""
    work_dir = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
                     *tiny_cifar_options(data_root, batch_size=4), *options],
                    check=False, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert not glob.glob(osp.join(work_dir, '**', '*.pth'), recursive=True)
    return proc.stderr


@pytest.mark.slow
def test_train_refuses_cifar_rows_that_are_not_32x32_images(tmp_path):
    root = make_cifar100(str(tmp_path / 'data'))
    path = rewrite_split(root, data=np.zeros((96, 1024), np.uint8),
                         fine_labels=[i % 100 for i in range(96)])
    stderr = train_fails_cleanly(tmp_path, BASELINE, root)
    assert 'error: ' in stderr and path in stderr
    assert 'expected shape (N, 3072) of uint8' in stderr


@pytest.mark.slow
@pytest.mark.parametrize('config, option, message', [
    ('configs/ffsd/resnet20_cifar100.py', 'model.lambda_fusion=-10',
     'model.lambda_fusion must be a loss weight >= 0, got -10'),
    ('configs/hssakd/resnet56_cifar100_online.py', 'model.aux_branches.num_classes=10',
     'model.aux_branches.num_classes is 10, but the head of model.student has 100 classes; '
     'the joint (class x rotation) heads need the same classes: set '
     'model.aux_branches.num_classes=100'),
    ('configs/mixskd/resnet18_cifar100.py', 'model.self_teacher.num_classes=10',
     "model.self_teacher.num_classes is 10, but MixSKD needs 100 (the classes of "
     "model.student's head)"),
], ids=['ffsd-negative-weight', 'hssakd-branch-classes', 'mixskd-self-teacher-classes'])
def test_train_refuses_a_method_config_that_cannot_work(tmp_path, tiny_cifar100, config,
                                                        option, message):
    stderr = train_fails_cleanly(tmp_path, config, tiny_cifar100, option)
    assert 'error: ' in stderr and message in stderr
