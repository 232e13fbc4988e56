"""CIFAR MobileNetV2 of HSSAKD (winycg/HSAKD ``models/mobilenetv2.py``, RepDistiller's
``mobilenetV2``: expansion 6, width 0.5)."""
from typing import List, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.registry import MODELS
from mmselfkd.models.utils import conv_bn_relu, init_conv_bn
from .utils import check_out_indices


class InvertedResidual(nn.Module):
    """1x1 expand -> BN -> ReLU -> 3x3 depthwise -> BN -> ReLU -> 1x1 -> BN, plus the input
    when the stride is 1 and the channels stay (the expand conv exists even for ratio 1)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


@MODELS.register_module()
class CIFARMobileNetV2(BaseModule):
    """CIFAR MobileNetV2 (RepDistiller's ``mobilenetv2_T_w``; HSSAKD: ``T=6, W=0.5``).

    3x3 stem (stride 1) and seven groups of inverted residuals ``(t, c, n, s)`` = (1, 16, 1, 1),
    (T, 24, 2, 1), (T, 32, 3, 2), (T, 64, 4, 2), (T, 96, 3, 1), (T, 160, 3, 2), (T, 320, 1, 1)
    with ``c`` scaled by ``W``; then the 1x1 conv-BN-ReLU to 1280 channels that the classifier
    pools. Four stages, the official feature taps ``f1..f4`` (``W=0.5`` at 32 x 32: 12 x 32^2
    after groups 0-1 with the stem, 16 x 16^2 after group 2, 48 x 8^2 after groups 3-4,
    160 x 4^2 after groups 5-6). :meth:`forward_stages` returns the taps beside the outputs
    (whose last one is the 1280-channel map); :meth:`make_stage` and :meth:`make_branch_end`
    build HSSAKD's branches as the official ``Auxiliary_Classifier``. Init: convs
    ``N(0, sqrt(2 / (k*k*C_out)))``, BN 1/0 (backbone and branches, as official).
    ``T=6, W=0.5``: 0.813 M parameters with a 100-class FC.

    Args:
        expand_ratio: ``T``. Defaults to 6.
        widen_factor: ``W``. Defaults to 0.5.
        out_indices: stages whose outputs are returned, increasing. Defaults to (3,).
        init_cfg: extra initialisation.
    """

    #: (t, c, n, s) with t = None for the expansion ratio T; the stage of each group
    groups = ((1, 16, 1, 1), (None, 24, 2, 1), (None, 32, 3, 2), (None, 64, 4, 2),
              (None, 96, 3, 1), (None, 160, 3, 2), (None, 320, 1, 1))
    stage_groups = ((0, 1), (2, ), (3, 4), (5, 6))

    def __init__(self, expand_ratio: int = 6, widen_factor: float = 0.5,
                 out_indices: Sequence[int] = (3, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if expand_ratio < 1 or widen_factor <= 0:
            raise ValueError(f'CIFARMobileNetV2.expand_ratio must be >= 1 and .widen_factor > '
                             f'0, got {expand_ratio} and {widen_factor}')
        self.out_indices = check_out_indices(out_indices, len(self.stage_groups),
                                             'CIFARMobileNetV2')
        self.expand_ratio = expand_ratio
        self.widen_factor = widen_factor
        self.stage_channels: List[int] = [
            int(self.groups[stage[-1]][1] * widen_factor) for stage in self.stage_groups]
        self.last_channels = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        stem_channels = int(32 * widen_factor)
        self.stage0 = nn.Sequential(nn.Sequential(*conv_bn_relu(3, stem_channels, 3)),
                                    *self._groups(0, stem_channels, 1))
        for index in range(1, len(self.stage_groups)):
            self.add_module(f'stage{index}',
                            self.make_stage(index, self.stage_channels[index - 1], 2))
        self.conv2 = nn.Sequential(*conv_bn_relu(self.stage_channels[-1], self.last_channels, 1))
        init_conv_bn(self)

    def _groups(self, stage_index: int, in_channels: int, stride: int) -> List[nn.Module]:
        """The inverted-residual groups of a stage; ``stride`` replaces the stride of its
        first group (1 for the extra stride-1 copy of HSSAKD's last branch)."""
        groups = []
        for position, group in enumerate(self.stage_groups[stage_index]):
            expand, channels, repeats, group_stride = self.groups[group]
            expand = self.expand_ratio if expand is None else expand
            out_channels = int(channels * self.widen_factor)
            if position == 0 and stage_index > 0:
                group_stride = group_stride if stride == 2 else 1
            blocks = []
            for repeat in range(repeats):
                blocks.append(InvertedResidual(in_channels, out_channels,
                                               group_stride if repeat == 0 else 1, expand))
                in_channels = out_channels
            groups.append(nn.Sequential(*blocks))
        return groups

    def make_stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        """A fresh, initialised stage ``stage_index`` taking ``in_channels``."""
        stage = nn.Sequential(*self._groups(stage_index, in_channels, stride))
        init_conv_bn(stage)
        return stage

    def make_branch_end(self) -> Tuple[nn.Module, int]:
        """The official branch end ``conv2_l``: a fresh 1x1 conv-BN-ReLU to 1280 channels."""
        end = nn.Sequential(*conv_bn_relu(self.stage_channels[-1], self.last_channels, 1))
        init_conv_bn(end)
        return end, self.last_channels

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return self.forward_stages(x)[0]

    def forward_stages(self, x: Tensor) -> Tuple[Tuple[Tensor, ...], List[Tensor]]:
        """``(forward(x), stage outputs)``: the last output is ``conv2`` of the last stage."""
        taps = []
        for index in range(len(self.stage_groups)):
            x = getattr(self, f'stage{index}')(x)
            taps.append(x)
        outs = taps[:-1] + [self.conv2(taps[-1])]
        return tuple(outs[i] for i in self.out_indices), taps
