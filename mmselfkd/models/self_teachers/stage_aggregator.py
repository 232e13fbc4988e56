"""MixSKD's self-teacher: a classifier on the concatenated stage features."""
from typing import Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.registry import MODELS


@MODELS.register_module()
class StageAggregator(BaseModule):
    """Self-teacher of MixSKD (winycg/Self-KD-Lib ``models/resnet_mixskd.py``,
    ``ResNet_Final_Auxiliary_Classifer``).

    ``concat_k(features_k)`` -> 1x1 conv (no bias, no BN, no ReLU) -> global average pooling
    -> linear classifier. For the CIFAR ResNet-18 of the paper: 4 x 512 -> 512 -> 100 classes,
    1.100 M parameters. The MixSKD algorithm fills ``in_channels`` and ``num_classes`` from
    the host model when the config leaves them out.

    Args:
        in_channels: channels of each stage feature map, in the order they are concatenated
            (all maps share one spatial size).
        num_classes: number of classes.
        out_channels: channels after the 1x1 conv. Defaults to the last entry of
            ``in_channels`` (512 for ResNet-18, 2048 for ResNet-50, as in the official code).
        init_cfg: initialisation config; None keeps PyTorch's default initialisation, as the
            official code does.
    """

    def __init__(self, in_channels: Sequence[int], num_classes: int,
                 out_channels: Optional[int] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, int) or not in_channels:
            raise ValueError('StageAggregator.in_channels must list the channels of every '
                             f'stage feature map, got {in_channels!r}')
        if num_classes <= 0:
            raise ValueError(f'StageAggregator.num_classes must be > 0, got {num_classes}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels or self.in_channels[-1]
        self.num_classes = num_classes
        self.conv = nn.Conv2d(sum(self.in_channels), self.out_channels, kernel_size=1,
                              bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.out_channels, num_classes)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Logits ``(N, num_classes)`` from the stage feature maps ``[(N, C_k, H, W), ...]``."""
        if len(features) != len(self.in_channels):
            raise ValueError(f'StageAggregator expects {len(self.in_channels)} feature maps, '
                             f'got {len(features)}')
        out = self.pool(self.conv(torch.cat(list(features), dim=1)))
        return self.fc(out.flatten(1))
