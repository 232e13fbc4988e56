"""Package basics: registries and scope, host models from config files, version checks, the
checkpoint-loading fix."""
import os
import subprocess
import sys

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader

import mmselfkd
from mmselfkd.registry import DATASETS, HOOKS, METRICS, MODELS
from mmselfkd.utils import version_check

from conftest import REPO_ROOT, tool_env  # noqa: E402


def test_registries_are_scoped_children_of_mmengine():
    for registry in (MODELS, DATASETS, HOOKS, METRICS):
        assert registry.scope == 'mmselfkd'
        assert registry.parent is not None and registry.parent.scope == 'mmengine'
    assert MODELS.get('StageAggregator') is mmselfkd.models.StageAggregator


def test_prefixed_lookup_from_the_host_scope(mmpretrain_scope):
    assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
    module = ROOT_MODELS.build(dict(type='mmselfkd.StageAggregator', in_channels=[4, 4],
                                    num_classes=3))
    assert isinstance(module, mmselfkd.models.StageAggregator)
    # host types stay unprefixed and resolve in mmpretrain
    classifier = ROOT_MODELS.build(dict(type='ImageClassifier',
                                        backbone=dict(type='ResNet_CIFAR', depth=18)))
    assert type(classifier).__module__.startswith('mmpretrain')
    from mmselfkd.registry import DATASETS as OUR_DATASETS
    assert OUR_DATASETS.get('mmselfkd.CIFAR100') is mmselfkd.datasets.CIFAR100


def test_host_model_from_another_config_file(mmpretrain_scope, tmp_path, monkeypatch):
    """``dict(cfg_path=...)``: the ``model`` of another config (a file, relative to the current
    directory or via ``{{ fileDirname }}``, or ``package::path``), other keys merged in."""
    from mmengine.config import Config

    from mmselfkd.models.algorithms import FRSKD, build_host_model
    from mmselfkd.models.algorithms.base import model_config_from_file
    monkeypatch.chdir(REPO_ROOT)
    baseline = 'configs/baseline/resnet18_cifar100.py'
    merged = model_config_from_file(
        dict(cfg_path=baseline, backbone=dict(depth=34), head=dict(topk=(1, ))), 'teacher')
    expected = Config.fromfile(baseline).model.to_dict()
    expected['backbone']['depth'] = 34
    expected['head']['topk'] = (1, )
    assert merged == expected
    replaced = model_config_from_file(
        dict(cfg_path=baseline, neck=dict(_delete_=True, type='GlobalAveragePooling', dim=2)),
        'teacher')
    assert replaced['neck'] == dict(type='GlobalAveragePooling', dim=2)

    net = build_host_model(dict(cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py'),
                           field='teacher')
    assert type(net).__name__ == 'ImageClassifier' and net.backbone.depth == 18

    # a config naming a file next to itself, used for the student of an algorithm that reads
    # the student's config (FRSKD's self-teacher classifier size)
    (tmp_path / 'net.py').write_text(
        f"_base_ = ['{REPO_ROOT}/{baseline}']\nmodel = dict(\n"
        "    backbone=dict(out_indices=(0, 1, 2, 3)), head=dict(num_classes=10))\n")
    (tmp_path / 'algo.py').write_text(
        "model = dict(type='mmselfkd.FRSKD', student=dict(cfg_path='{{ fileDirname }}/net.py'),"
        " self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher'))\n")
    monkeypatch.chdir(tmp_path.parent)
    cfg = Config.fromfile(str(tmp_path / 'algo.py'))
    assert cfg.model.student.cfg_path == f'{tmp_path}/net.py'
    model = ROOT_MODELS.build(cfg.model)
    assert isinstance(model, FRSKD) and model.student.head.num_classes == 10
    assert model.teacher_head.fc.out_features == 10

    with pytest.raises(FileNotFoundError, match=r'model.teacher.cfg_path: no config file'):
        build_host_model(dict(cfg_path='missing.py'), field='teacher')


def test_version_check_names_the_install_command(monkeypatch):
    real = version_check._installed
    monkeypatch.setattr(version_check, '_installed',
                        lambda name: '0.9.0' if name == 'mmengine' else real(name))
    with pytest.raises(ImportError, match=r'mmengine>=0.10.6,<1.0.0.*mmengine==0.9.0.*'
                       r'pip install "mmengine==0.10.7"'):
        version_check.check_versions()
    monkeypatch.setattr(version_check, '_installed',
                        lambda name: None if name == 'mmpretrain' else real(name))
    with pytest.raises(ImportError, match='mmpretrain.*not installed'):
        version_check.check_versions()


def _runner_like_checkpoint(path):
    hub = MessageHub.get_instance('test_compat')
    hub.update_scalar('train/loss', 1.0)
    torch.save({'meta': {'epoch': 1}, 'state_dict': {'w': torch.ones(2)},
                'message_hub': hub.state_dict()}, path)
    assert isinstance(hub.state_dict()['log_scalars']['train/loss'], HistoryBuffer)


def test_checkpoint_compat_loads_runner_checkpoints(tmp_path):
    path = str(tmp_path / 'epoch_1.pth')
    _runner_like_checkpoint(path)
    # torch >= 2.6 refuses it by default: this is what breaks mmengine 0.10.7 --resume
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path)
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    with pytest.raises(FileNotFoundError):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))


TEARDOWN_PROBE = """
import sys
import torch.distributed as dist
from mmselfkd.utils.launch import teardown_distributed
dist.init_process_group(sys.argv[1], init_method='file://' + sys.argv[2], rank=0, world_size=1)
teardown_distributed()
print('returned, initialized:', dist.is_initialized(), flush=True)
"""


def _teardown(backend, tmp_path):
    return subprocess.run([sys.executable, '-c', TEARDOWN_PROBE, backend, str(tmp_path / 'rdv')],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)


@pytest.mark.slow
def test_teardown_exits_gloo_runs_at_once(tmp_path):
    """A gloo run ends in ``os._exit(0)`` (the workaround of its shutdown abort)."""
    proc = _teardown('gloo', tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'returned' not in proc.stdout


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_teardown_returns_from_nccl_runs(tmp_path):
    """An NCCL run destroys its process group and returns normally: no ``os._exit``."""
    proc = _teardown('nccl', tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'returned, initialized: False' in proc.stdout


def test_tool_runs_use_the_python_that_runs_the_tests(tmp_path):
    """The shell tools call ``python``: the tool runner puts this interpreter's directory first
    on ``PATH``, ahead of any other ``python`` (here a decoy), as from a venv not activated."""
    decoy = tmp_path / 'python'
    decoy.write_text('#!/bin/sh\necho decoy\n')
    decoy.chmod(0o755)
    env = tool_env({'PATH': f'{tmp_path}{os.pathsep}{os.environ["PATH"]}'})
    out = subprocess.run(['bash', '-c', 'python -c "import sys; print(sys.prefix)"'], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == sys.prefix
