"""CIFAR ShuffleNetV1 / V2 of HSSAKD (winycg/HSAKD ``models/ShuffleNetv1.py``,
``models/ShuffleNetv2.py``, RepDistiller's ``ShuffleV1`` / ``ShuffleV2``)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.registry import MODELS
from mmselfkd.models.utils import conv_bn_relu, init_conv_bn
from .utils import check_out_indices


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """``[N, g*c, H, W] -> [N, c*g, H, W]``: interleave the ``groups`` channel groups."""
    n, channels, h, w = x.shape
    return x.view(n, groups, channels // groups, h, w).transpose(1, 2).reshape(n, channels, h, w)


class ShuffleV1Block(nn.Module):
    """ShuffleNetV1 bottleneck: grouped 1x1 -> BN -> ReLU -> shuffle -> 3x3 depthwise (stride)
    -> BN -> ReLU -> grouped 1x1 -> BN; stride 2 concatenates a 3x3/2 average-pooled input,
    stride 1 adds the input; then ReLU. The first conv is ungrouped on the 24-channel stem."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, groups: int):
        super().__init__()
        mid = out_channels // 4
        self.first_groups = 1 if in_channels == 24 else groups
        self.stride = stride
        self.conv1 = nn.Conv2d(in_channels, mid, 1, groups=self.first_groups, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        out = channel_shuffle(F.relu(self.bn1(self.conv1(x))), self.first_groups)
        out = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(out)))))
        if self.stride == 2:
            return F.relu(torch.cat([out, F.avg_pool2d(x, 3, 2, 1)], 1))
        return F.relu(out + x)


class ShuffleV2Block(nn.Module):
    """ShuffleNetV2 unit: the second half of the channels goes through 1x1 -> BN -> ReLU ->
    3x3 depthwise -> BN -> 1x1 -> BN -> ReLU, the first half is kept; concatenate, shuffle."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.conv1 = nn.Conv2d(half, half, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(half)
        self.conv2 = nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv3 = nn.Conv2d(half, half, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(half)

    def forward(self, x: Tensor) -> Tensor:
        half = x.shape[1] // 2
        kept, branch = x[:, :half], x[:, half:]
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(branch)))))
        out = F.relu(self.bn3(self.conv3(out)))
        return channel_shuffle(torch.cat([kept, out], 1), 2)


class ShuffleV2DownBlock(nn.Module):
    """ShuffleNetV2 down-sampling unit (also at stride 1 in HSSAKD's extra branch stage):
    left 3x3 depthwise (stride) -> BN -> 1x1 -> BN -> ReLU; right 1x1 -> BN -> ReLU -> 3x3
    depthwise (stride) -> BN -> 1x1 -> BN -> ReLU; concatenate (half the output each),
    shuffle."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2):
        super().__init__()
        mid = out_channels // 2
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn4 = nn.BatchNorm2d(mid)
        self.conv5 = nn.Conv2d(mid, mid, 1, bias=False)
        self.bn5 = nn.BatchNorm2d(mid)

    def forward(self, x: Tensor) -> Tensor:
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = self.bn4(self.conv4(F.relu(self.bn3(self.conv3(x)))))
        right = F.relu(self.bn5(self.conv5(right)))
        return channel_shuffle(torch.cat([left, right], 1), 2)


class _CIFARShuffleNet(BaseModule):
    """Shared frame: a 1x1 stem, three stages at 16^2, 8^2, 4^2 (32 x 32 input), the taps
    ``f1..f3`` after each stage (the official feature list).

    Args:
        out_indices: stages whose outputs are returned, increasing. Defaults to (2,).
        init_cfg: extra initialisation.
    """

    num_stages = 3
    stage_channels: List[int]

    def __init__(self, out_indices: Sequence[int] = (2, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.out_indices = check_out_indices(out_indices, self.num_stages, type(self).__name__)
        self.stem = nn.Sequential(*conv_bn_relu(3, 24, 1))  # the official 1x1 stem
        in_channels = 24
        for index, channels in enumerate(self.stage_channels):
            self.add_module(f'layer{index + 1}', self._stage(index, in_channels, 2))
            in_channels = channels

    def _stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        raise NotImplementedError

    def _taps(self, x: Tensor) -> List[Tensor]:
        x = self.stem(x)
        taps = []
        for index in range(self.num_stages):
            x = getattr(self, f'layer{index + 1}')(x)
            taps.append(x)
        return taps

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        taps = self._taps(x)
        return tuple(taps[i] for i in self.out_indices)


@MODELS.register_module()
class CIFARShuffleNetV1(_CIFARShuffleNet):
    """CIFAR ShuffleNetV1 (groups 3; 240/480/960 channels, 4/8/4 units, each stage opened by
    a stride-2 concatenating unit). The classifier pools the last stage. PyTorch's default
    init for the backbone (the official one has no init); :meth:`make_stage` gives HSSAKD's
    branch stages the official branch init (He fan-out, BN 1/0) and, at stride 1, the extra
    last-stage copy of residual units only. 0.949 M parameters with a 100-class FC.
    Arguments: see :class:`_CIFARShuffleNet`.
    """

    stage_channels = [240, 480, 960]
    num_units = (4, 8, 4)
    groups = 3

    def _stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        out_channels = self.stage_channels[stage_index]
        units = []
        for unit in range(self.num_units[stage_index]):
            down = unit == 0 and stride == 2
            units.append(ShuffleV1Block(in_channels, out_channels - (in_channels if down else 0),
                                        2 if down else 1, self.groups))
            in_channels = out_channels
        return nn.Sequential(*units)

    def make_stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        stage = self._stage(stage_index, in_channels, stride)
        init_conv_bn(stage)  # the official Auxiliary_Classifier init
        return stage


@MODELS.register_module()
class CIFARShuffleNetV2(_CIFARShuffleNet):
    """CIFAR ShuffleNetV2 (net size 1: 116/232/464 channels, 3/7/3 units after each
    down-sampling unit), then the 1x1 conv-BN-ReLU to 1024 channels that the classifier pools.
    :meth:`forward_stages` returns the stage taps beside the outputs (whose last one is the
    1024-channel map); :meth:`make_stage` and :meth:`make_branch_end` build HSSAKD's branches
    as the official ``Auxiliary_Classifier``. PyTorch's default init everywhere, as official.
    1.356 M parameters with a 100-class FC. Arguments: see :class:`_CIFARShuffleNet`.
    """

    stage_channels = [116, 232, 464]
    num_units = (3, 7, 3)
    last_channels = 1024

    def __init__(self, out_indices: Sequence[int] = (2, ), init_cfg=None):
        super().__init__(out_indices, init_cfg)
        self.conv2, _ = self.make_branch_end()

    def _stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        channels = self.stage_channels[stage_index]
        units = [ShuffleV2Block(channels) for _ in range(self.num_units[stage_index])]
        return nn.Sequential(ShuffleV2DownBlock(in_channels, channels, stride), *units)

    make_stage = _stage

    def make_branch_end(self) -> Tuple[nn.Module, int]:
        """A fresh 1x1 conv (no bias) -> BN -> ReLU from the last stage to 1024 channels (the
        backbone's own ``conv2``/``bn2`` and the official branch end)."""
        end = nn.Sequential(*conv_bn_relu(self.stage_channels[-1], self.last_channels, 1))
        return end, self.last_channels

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return self.forward_stages(x)[0]

    def forward_stages(self, x: Tensor) -> Tuple[Tuple[Tensor, ...], List[Tensor]]:
        taps = self._taps(x)
        outs = taps[:-1] + [self.conv2(taps[-1])]
        return tuple(outs[i] for i in self.out_indices), taps
