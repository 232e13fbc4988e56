"""Package basics: registries and scope, version checks, the checkpoint-loading fix."""
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader

import mmselfkd
from mmselfkd.registry import DATASETS, HOOKS, METRICS, MODELS
from mmselfkd.utils import version_check


def test_registries_are_scoped_children_of_mmengine():
    for registry in (MODELS, DATASETS, HOOKS, METRICS):
        assert registry.scope == 'mmselfkd'
        assert registry.parent is not None and registry.parent.scope == 'mmengine'
    assert MODELS.get('KLDivergence') is mmselfkd.models.KLDivergence


def test_prefixed_lookup_from_the_host_scope(mmpretrain_scope):
    assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
    loss = ROOT_MODELS.build(dict(type='mmselfkd.KLDivergence', temperature=4.0))
    assert isinstance(loss, mmselfkd.models.KLDivergence)
    # host types stay unprefixed and resolve in mmpretrain
    classifier = ROOT_MODELS.build(dict(type='ImageClassifier',
                                        backbone=dict(type='ResNet_CIFAR', depth=18)))
    assert type(classifier).__module__.startswith('mmpretrain')
    from mmselfkd.registry import DATASETS as OUR_DATASETS
    assert OUR_DATASETS.get('mmselfkd.CIFAR100') is mmselfkd.datasets.CIFAR100


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
