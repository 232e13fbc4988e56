"""RepDistiller-style CIFAR ResNets (ResNet-20/32/56, ResNet-8x4/32x4).

The networks of the HSSAKD and FFSD CIFAR experiments (winycg/HSAKD ``models/resnet.py``,
SJLeo/FFSD ``models/resnet_cifar.py``): a 3x3
stem conv + BN + ReLU, three stages of post-activation BasicBlocks with ``(depth - 2) / 6``
blocks each (strides 1/2/2), global average pooling and a linear classifier (the latter two
are mmpretrain's ``GlobalAveragePooling`` + ``LinearClsHead`` in a config).
"""
from typing import List, Sequence, Tuple

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.models.utils import init_conv_bn
from mmselfkd.registry import MODELS
from .utils import check_out_indices, initialised_stage, run_layers


class CIFARBasicBlock(nn.Module):
    """Post-activation BasicBlock: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first conv and of the 1x1 projection shortcut.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        # in place on BatchNorm outputs, which their backward does not read (as the official
        # blocks): no extra pass over a map
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out.add_(identity), inplace=True)


@MODELS.register_module()
class CIFARResNet(BaseModule):
    """CIFAR ResNet of RepDistiller/HSAKD/FFSD (``models/resnet.py`` of winycg/HSAKD).

    ``CIFARResNet(depth=56)`` is ResNet-56 (16/32/64 channels); ResNet-32x4 and ResNet-8x4 are
    ``stem_channels=32, stage_channels=(64, 128, 256)`` with depth 32 and 8. Stage ``i`` is
    ``layer{i+1}``; its output is the post-ReLU output of its last block, the tap used by
    HSSAKD's auxiliary branches and FFSD's feature hooks (``layer1..layer3``).

    Args:
        depth: ``6n + 2`` (n BasicBlocks per stage), e.g. 8, 20, 32, 56, 110.
        stem_channels: output channels of the 3x3 stem conv. Defaults to 16.
        stage_channels: output channels of the three stages. Defaults to (16, 32, 64).
        out_indices: stages whose outputs are returned, increasing. Defaults to (2,),
            the input of the classifier.
        init_cfg: extra initialisation; the official He fan-out / BN(1, 0) init is applied
            at construction.
    """

    strides = (1, 2, 2)

    def __init__(self, depth: int, stem_channels: int = 16,
                 stage_channels: Sequence[int] = (16, 32, 64),
                 out_indices: Sequence[int] = (2, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f'CIFARResNet.depth must be 6n+2 (8, 20, 32, 56, ...), got {depth}')
        if len(stage_channels) != len(self.strides):
            raise ValueError(f'CIFARResNet.stage_channels needs {len(self.strides)} values, '
                             f'got {tuple(stage_channels)}')
        self.depth = depth
        self.num_blocks = (depth - 2) // 6
        self.stem_channels = stem_channels
        self.stage_channels: List[int] = list(stage_channels)
        self.out_indices = check_out_indices(out_indices, len(self.strides), 'CIFARResNet')
        self.conv1 = nn.Conv2d(3, stem_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        in_channels = stem_channels
        for i, stride in enumerate(self.strides):
            self.add_module(f'layer{i + 1}', self.make_stage(i, in_channels, stride))
            in_channels = self.stage_channels[i]
        init_conv_bn(self)

    def make_stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        """A freshly initialised stage ``stage_index`` taking ``in_channels`` at ``stride``."""
        out_channels = self.stage_channels[stage_index]
        blocks = [CIFARBasicBlock(in_channels, out_channels, stride)]
        blocks += [CIFARBasicBlock(out_channels, out_channels) for _ in range(self.num_blocks - 1)]
        return initialised_stage(blocks)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return self.forward_stages(x)[0]

    def forward_stages(self, x: Tensor) -> Tuple[Tuple[Tensor, ...], List[Tensor]]:
        """``(forward(x), outputs of every stage)``: one pass that also yields the taps of
        auxiliary branches (for this network they equal the returned stage outputs)."""
        stages = run_layers(self, F.relu(self.bn1(self.conv1(x))))
        return tuple(stages[i] for i in self.out_indices), stages
