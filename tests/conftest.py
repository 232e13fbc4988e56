"""Shared fixtures: tiny datasets in real on-disk formats and helpers to run the tools.

``tests/`` has no ``__init__.py`` on purpose: the mmsegmentation wheel installs a top-level
``tests`` package into site-packages.
"""
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')


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


def run_tool(args, timeout: int = 600, env=None, check: bool = True):
    """Run ``python tools/...`` (or ``bash tools/...``) from the repo root; show output on failure."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    full_env.update(env or {})
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
