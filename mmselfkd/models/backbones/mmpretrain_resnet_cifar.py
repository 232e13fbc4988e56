"""mmpretrain's CIFAR ResNet with an optional stem ReLU (MixSKD's CIFAR backbone)."""
from mmpretrain.models.backbones import ResNet_CIFAR as _MMPretrainResNet_CIFAR
from torch import nn

from mmselfkd.registry import MODELS


@MODELS.register_module()
class ResNet_CIFAR(_MMPretrainResNet_CIFAR):
    """mmpretrain's ``ResNet_CIFAR`` whose stem ReLU can be switched off.

    MixSKD's official CIFAR ResNet (winycg/Self-KD-Lib ``models/resnet_mixskd.py``,
    ``CIFAR_ResNet``) is conv3x3 -> BN -> layer1 with **no ReLU** after the stem BN;
    mmpretrain's class always applies one. ``stem_relu=False`` replaces that ReLU by an
    identity. A ReLU has no parameters, so the state-dict keys and shapes equal mmpretrain's: a
    checkpoint loads strictly into either class, but only this one with ``stem_relu=False``
    reproduces the predictions of a model trained without the stem ReLU. A stock mmpretrain
    config that deploys such a model needs two lines::

        custom_imports = dict(imports=['mmselfkd'], allow_failed_imports=False)
        model = dict(backbone=dict(type='mmselfkd.ResNet_CIFAR', stem_relu=False, ...))

    Args:
        depth: network depth, one of 18, 34, 50, 101, 152.
        stem_relu: apply the ReLU after the stem BN (mmpretrain and most CIFAR ResNets do;
            MixSKD's does not). Defaults to True.
        **kwargs: every other argument of mmpretrain's ``ResNet_CIFAR`` / ``ResNet``.
    """

    def __init__(self, depth: int, stem_relu: bool = True, **kwargs):
        super().__init__(depth, **kwargs)
        if not isinstance(stem_relu, bool):
            raise TypeError(f'ResNet_CIFAR.stem_relu must be True or False, got {stem_relu!r}')
        self.stem_relu = stem_relu
        if not stem_relu:
            # the stem is the only user of ``self.relu``; every block owns its own ReLU
            self.relu = nn.Identity()
