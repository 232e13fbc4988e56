"""CIFAR DenseNet (DenseNet-40, growth 12) of FFSD (SJLeo/FFSD
``models/densenet_cifar.py``)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.registry import MODELS
from mmselfkd.models.utils import init_conv_bn
from .utils import check_out_indices


class DenseLayer(nn.Module):
    """``cat(x, conv3x3(relu(bn(x))))``: adds ``growth_rate`` channels (no bottleneck)."""

    def __init__(self, in_channels: int, growth_rate: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((x, self.conv1(F.relu(self.bn1(x)))), 1)


class Transition(nn.Module):
    """``avg_pool2d(conv1x1(relu(bn(x))), 2)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(self.conv1(F.relu(self.bn1(x))), 2)


@MODELS.register_module()
class CIFARDenseNet(BaseModule):
    """CIFAR DenseNet-``depth`` without bottlenecks, FFSD's ``densenet_40``.

    3x3 stem conv (``2 * growth_rate`` channels, no BN) -> three dense blocks of
    ``(depth - 4) / 3`` :class:`DenseLayer` s, with a :class:`Transition` (``floor(C /
    compression)`` channels, 2x2 average pooling) after the first two -> final BN + ReLU.
    Stage outputs, the official feature hooks (``dense1``, ``dense2``, ``relu``): the raw
    outputs of the first two dense blocks (before their transitions) and the final BN + ReLU
    output, which the classifier pools. DenseNet-40, growth 12: 168 x 32^2, 312 x 16^2,
    456 x 8^2 at a 32 x 32 input; 1.100 M parameters with a 100-class FC.

    Args:
        depth: ``3n + 4``. Defaults to 40.
        growth_rate: channels each dense layer adds. Defaults to 12.
        compression: the official ``compressionRate``; a transition keeps
            ``floor(C / compression)`` channels. Defaults to 1 (no compression, as official).
        out_indices: stages whose outputs are returned, increasing. Defaults to (2,).
        init_cfg: extra initialisation; the official He fan-out / BN(1, 0) init is applied at
            construction.
    """

    num_stages = 3

    def __init__(self, depth: int = 40, growth_rate: int = 12, compression: int = 1,
                 out_indices: Sequence[int] = (2, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if depth < 7 or (depth - 4) % 3 != 0:
            raise ValueError(f'CIFARDenseNet.depth must be 3n+4 (40, 100, ...), got {depth}')
        if growth_rate < 1 or compression < 1:
            raise ValueError(f'CIFARDenseNet.growth_rate and .compression must be >= 1, got '
                             f'{growth_rate} and {compression}')
        self.out_indices = check_out_indices(out_indices, self.num_stages, 'CIFARDenseNet')
        layers_per_block = (depth - 4) // 3
        channels = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        self.stage_channels: List[int] = []
        for index in range(self.num_stages):
            block = []
            for _ in range(layers_per_block):
                block.append(DenseLayer(channels, growth_rate))
                channels += growth_rate
            self.add_module(f'dense{index + 1}', nn.Sequential(*block))
            self.stage_channels.append(channels)
            if index < self.num_stages - 1:
                out_channels = channels // compression
                self.add_module(f'trans{index + 1}', Transition(channels, out_channels))
                channels = out_channels
        self.bn = nn.BatchNorm2d(channels)
        init_conv_bn(self)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.conv1(x)
        outs = []
        for index in range(self.num_stages):
            x = getattr(self, f'dense{index + 1}')(x)
            if index < self.num_stages - 1:
                outs.append(x)
                x = getattr(self, f'trans{index + 1}')(x)
        outs.append(F.relu(self.bn(x)))
        return tuple(outs[i] for i in self.out_indices)
