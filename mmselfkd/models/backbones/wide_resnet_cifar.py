"""Wide ResNets for CIFAR (WRN-16-2, WRN-40-1, WRN-40-2, ...).

Default: the RepDistiller network used by HSSAKD (winycg/HSAKD ``models/wrn.py``).
FFSD's ``Wide_ResNet`` (SJLeo/FFSD ``models/wideresnet_cifar.py``) differs in three
places, each an option here: ``block_style='kuangliu'`` (stride in the second conv, projection
shortcut on the raw block input), ``conv_bias=True`` and ``final_norm_momentum=0.9``.
"""
from typing import List, Sequence, Tuple

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.registry import MODELS
from mmselfkd.models.utils import init_conv_bn
from .utils import check_out_indices, initialised_stage, run_layers

BLOCK_STYLES = ('repdistiller', 'kuangliu')


class WideBasicBlock(nn.Module):
    """Pre-activation wide block ``conv2(relu(bn2(conv1(relu(bn1(x)))))) + shortcut``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the block.
        style: ``'repdistiller'``: stride in ``conv1``; a projection shortcut (1x1 conv, when
            channels or stride change) sees ``relu(bn1(x))``. ``'kuangliu'``: stride in
            ``conv2``; the projection shortcut sees the raw ``x``.
        conv_bias: give every conv a bias (FFSD). Defaults to False.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 style: str = 'repdistiller', conv_bias: bool = False):
        super().__init__()
        self.style = style
        stride1, stride2 = (stride, 1) if style == 'repdistiller' else (1, stride)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride1, 1, bias=conv_bias)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride2, 1, bias=conv_bias)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=conv_bias)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        # in place on BatchNorm and conv outputs, which their backward does not read (as the
        # official blocks): no extra pass over a map
        activated = F.relu(self.bn1(x), inplace=True)
        out = self.conv2(F.relu(self.bn2(self.conv1(activated)), inplace=True))
        if self.shortcut is None:
            return out.add_(x)
        return out.add_(self.shortcut(activated if self.style == 'repdistiller' else x))


@MODELS.register_module()
class WideResNet(BaseModule):
    """CIFAR Wide ResNet WRN-``depth``-``widen_factor``.

    3x3 stem conv (16 channels, no BN) -> three stages of ``(depth - 4) / 6`` pre-activation
    blocks with ``16k, 32k, 64k`` channels (strides 1/2/2) -> final BN + ReLU. Stage outputs:
    stage 0 and 1 are the raw outputs of ``layer1``/``layer2``; stage 2 is the output of the
    final BN + ReLU (what the classifier consumes, FFSD's ``relu1`` hook). HSSAKD's branches tap
    the raw ``layer3`` output instead; :meth:`forward_stages` returns both in one pass.

    Args:
        depth: ``6n + 4``, e.g. 16, 28, 40.
        widen_factor: channel multiplier ``k``. Defaults to 1.
        out_indices: stages whose outputs are returned, increasing. Defaults to (2,).
        block_style: ``'repdistiller'`` (HSAKD/CRD, default) or ``'kuangliu'`` (FFSD), see
            :class:`WideBasicBlock`.
        conv_bias: convs with bias (FFSD). Defaults to False.
        final_norm_momentum: momentum of the final BN (FFSD: 0.9). Defaults to 0.1.
        init_cfg: extra initialisation; the official He fan-out / BN(1, 0) init is applied
            at construction.
    """

    strides = (1, 2, 2)
    #: pre-activation blocks: a stage output needs BN + ReLU before pooling
    pre_activation = True

    def __init__(self, depth: int, widen_factor: int = 1, out_indices: Sequence[int] = (2, ),
                 block_style: str = 'repdistiller', conv_bias: bool = False,
                 final_norm_momentum: float = 0.1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(f'WideResNet.depth must be 6n+4 (10, 16, 28, 40, ...), got {depth}')
        if block_style not in BLOCK_STYLES:
            raise ValueError(f'WideResNet.block_style must be one of {BLOCK_STYLES}, '
                             f'got {block_style!r}')
        self.depth = depth
        self.widen_factor = widen_factor
        self.num_blocks = (depth - 4) // 6
        self.block_style = block_style
        self.conv_bias = conv_bias
        self.stage_channels: List[int] = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.out_indices = check_out_indices(out_indices, len(self.strides), 'WideResNet')
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=conv_bias)
        in_channels = 16
        for i, stride in enumerate(self.strides):
            self.add_module(f'layer{i + 1}', self.make_stage(i, in_channels, stride))
            in_channels = self.stage_channels[i]
        self.bn1 = nn.BatchNorm2d(in_channels, momentum=final_norm_momentum)
        init_conv_bn(self)

    def make_stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        """A freshly initialised stage ``stage_index`` taking ``in_channels`` at ``stride``."""
        out_channels = self.stage_channels[stage_index]
        blocks = [WideBasicBlock(in_channels, out_channels, stride, self.block_style,
                                 self.conv_bias)]
        blocks += [WideBasicBlock(out_channels, out_channels, 1, self.block_style, self.conv_bias)
                   for _ in range(self.num_blocks - 1)]
        return initialised_stage(blocks)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return self.forward_stages(x)[0]

    def forward_stages(self, x: Tensor) -> Tuple[Tuple[Tensor, ...], List[Tensor]]:
        """``(forward(x), raw outputs of every stage)`` in one pass; the raw last-stage output
        (before the final BN + ReLU) is the tap of HSSAKD's last auxiliary branch."""
        stages = run_layers(self, self.conv1(x))
        outs = stages[:-1] + [F.relu(self.bn1(stages[-1]), inplace=True)]
        return tuple(outs[i] for i in self.out_indices), stages
