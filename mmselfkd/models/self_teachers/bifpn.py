"""FRSKD's BiFPN self-teacher (official ``BiFPNc``, spec section 1.3).

The self-teacher is generic: a list of backbone stage maps (finest first, each level half the
size of the previous one, or the same size) goes in, the refined list comes out. Its image
classifier is a separate optional piece, so a segmentation or detection adapter can put its own
head on the refined maps.
"""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmselfkd.registry import MODELS


class ConvBNReLU1x1(nn.Sequential):
    """Bias-free 1x1 conv -> BN -> ReLU: the official lateral and resampling projections.

    (The official ``DepthConvBlock`` with kernel 1 ignores its ``depth``.) The ReLU works in
    place on the BN output, which BN's backward does not need.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class SeparableConvStack(nn.Sequential):
    """``depth`` x [depthwise 3x3 -> pointwise 1x1 -> BN], ReLU *between* repetitions only.

    All convs are bias-free and the block ends without an activation: every consumer of a
    node output applies ReLU itself, exactly as the official code does.
    """

    def __init__(self, channels: int, depth: int):
        layers: List[nn.Module] = []
        for index in range(depth):
            if index > 0:
                layers.append(nn.ReLU(inplace=True))  # on a BN output, not needed by backward
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                nn.Conv2d(channels, channels, 1, bias=False),
                nn.BatchNorm2d(channels),
            ]
        super().__init__(*layers)


class SamePadMaxPool2d(nn.Module):
    """3x3 stride-2 max-pool with TensorFlow "same" padding, so the output is ``ceil(H/2)``.

    The padding is split with the smaller half on the left/top (for even sizes: 0 left,
    1 right) and filled with zeros, as in the official code; its inputs are ReLU outputs.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 2):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def _padding(self, size: int) -> List[int]:
        extra = max((math.ceil(size / self.stride) - 1) * self.stride - size + self.kernel_size, 0)
        return [extra // 2, extra - extra // 2]

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        x = F.pad(x, self._padding(width) + self._padding(height))
        return F.max_pool2d(x, self.kernel_size, self.stride)


class UpsampleProject(nn.Module):
    """Nearest upsampling to the finer level's size, then :class:`ConvBNReLU1x1`.

    For a level of exactly twice the size this is the official ``nn.Upsample(scale_factor=2)``
    followed by the projection, computed in the cheaper, equivalent order: project at the
    coarse size, then upsample. Nearest x2 upsampling repeats every value 4 times, so it
    commutes with the 1x1 conv, with ReLU and with training-mode BatchNorm (the batch mean and
    biased variance of a map whose values are each repeated 4 times are unchanged): outputs
    and gradients are the official ones, at a quarter of the projection's cost. (Only the
    ``n/(n-1)`` factor of the BN *running* variance differs, and the self-teacher never runs
    in eval mode.) Odd-sized levels (an FPN of a padded detection image: 13 under 25) get
    index ``floor(i / 2)``, the alignment of the stride-2 "same" downsampling that made them,
    and keep the official order; levels of equal size (dilated segmentation backbones, output
    stride 8) are not resampled.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.project = ConvBNReLU1x1(in_channels, out_channels)

    def forward(self, x: Tensor, size: Sequence[int]) -> Tensor:
        size = tuple(size)
        if tuple(x.shape[-2:]) == size:
            return self.project(x)
        if size == (2 * x.shape[-2], 2 * x.shape[-1]):
            return F.interpolate(self.project(x), scale_factor=2, mode='nearest')
        return self.project(F.interpolate(x, size=size, mode='nearest'))


class DownsampleProject(nn.Module):
    """:class:`SamePadMaxPool2d` (3x3, stride 2) unless the coarser level has the same size,
    then :class:`ConvBNReLU1x1`."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.pool = SamePadMaxPool2d(3, 2)
        self.project = ConvBNReLU1x1(in_channels, out_channels)

    def forward(self, x: Tensor, size: Sequence[int]) -> Tensor:
        if tuple(x.shape[-2:]) != tuple(size):
            x = self.pool(x)
        return self.project(x)


def fast_normalized_weights(weights: Tensor, eps: float = 1e-6) -> Tensor:
    """EfficientDet's fast normalised fusion: ``relu(w) / (sum(relu(w)) + eps)``."""
    weights = F.relu(weights)
    return weights / (weights.sum() + eps)


class SelfTeacherClassifier(nn.Module):
    """ReLU -> global average pooling -> linear, on the coarsest refined map.

    The ReLU repeats the one the BiFPN already applied; the official classifier keeps it
    for its pre-activation variant and it is kept here to match the official graph.

    Args:
        in_channels: channels of the coarsest refined map (``width * c_n``).
        num_classes: number of classes.
    """

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feature: Tensor) -> Tensor:
        pooled = F.adaptive_avg_pool2d(F.relu(feature), 1).flatten(1)
        return self.fc(pooled)


@MODELS.register_module()
class BiFPNSelfTeacher(nn.Module):
    """FRSKD's BiFPN self-teacher, the official ``BiFPNc`` with one BiFPN layer.

    With ``F_i`` the backbone maps (level 1 finest), ``d_i = width * c_i`` and ``w`` the
    fast-normalised fusion weights of each node::

        L_i = lateral_i(relu(F_i))                    i = 1..n
        R_i = bottom_up_lateral_i(relu(F_i))          i = 2..n  (separate weights from L_i)
        P_n = L_n
        P_i = top_down_block_i(w0 relu(L_i) + w1 top_down_resample_i(relu(P_{i+1})))
        T_1 = P_1
        T_i = bottom_up_block_i(w0 relu(R_i) + w1 relu(P_i) + w2 down_i(relu(T_{i-1})))
        T_n = bottom_up_block_n(w0 relu(R_n) + w1 down_n(relu(T_{n-1})))
        output = [relu(T_1), ..., relu(T_n)]

    ``top_down_resample`` = nearest x2 upsampling then 1x1 conv-BN-ReLU; ``down_i`` (module
    ``bottom_up_resample``) = same-padded 3x3/2 max-pool then 1x1 conv-BN-ReLU; the blocks are
    :class:`SeparableConvStack`. A level may also have the size of the previous one (a dilated
    backbone); then its resampling is the 1x1 conv-BN-ReLU alone (:class:`UpsampleProject`,
    :class:`DownsampleProject`). The official ``repeat > 1`` option is not offered: its later
    layers feed ``width * c_i`` channels into convs built for ``c_i`` and fail.

    Args:
        in_channels: channels ``c_i`` of the backbone stages, finest first (at least 2).
            :class:`~mmselfkd.models.algorithms.FRSKD` fills them in from its backbone.
        width: channel multiplier of the self-teacher levels. Defaults to 2.
        depth: repetitions in each separable block. Defaults to 2.
        num_classes: if given, a :class:`SelfTeacherClassifier` is built as ``classifier``.
    """

    def __init__(self, in_channels: Sequence[int], width: int = 2, depth: int = 2,
                 num_classes: Optional[int] = None):
        super().__init__()
        in_channels = list(in_channels)
        if len(in_channels) < 2:
            raise ValueError(f'BiFPNSelfTeacher.in_channels needs at least 2 stages, got '
                             f'{in_channels}')
        if width < 1 or depth < 1:
            raise ValueError(f'BiFPNSelfTeacher.width and .depth must be >= 1, got width={width}, '
                             f'depth={depth}')
        self.in_channels = in_channels
        self.out_channels = [width * c for c in in_channels]
        num_levels = len(in_channels)
        out = self.out_channels

        self.lateral = nn.ModuleList(
            ConvBNReLU1x1(c, d) for c, d in zip(in_channels, out))
        self.bottom_up_lateral = nn.ModuleList(
            ConvBNReLU1x1(in_channels[i], out[i]) for i in range(1, num_levels))
        # top-down nodes for levels 1..n-1, indexed by their level
        self.top_down_resample = nn.ModuleList(
            UpsampleProject(out[i + 1], out[i]) for i in range(num_levels - 1))
        self.top_down_blocks = nn.ModuleList(
            SeparableConvStack(out[i], depth) for i in range(num_levels - 1))
        self.top_down_weights = nn.ParameterList(
            nn.Parameter(torch.ones(2)) for _ in range(num_levels - 1))
        # bottom-up nodes for levels 2..n; the top level has no top-down input
        self.bottom_up_resample = nn.ModuleList(
            DownsampleProject(out[i - 1], out[i]) for i in range(1, num_levels))
        self.bottom_up_blocks = nn.ModuleList(
            SeparableConvStack(out[i], depth) for i in range(1, num_levels))
        self.bottom_up_weights = nn.ParameterList(
            nn.Parameter(torch.ones(3 if i < num_levels - 1 else 2))
            for i in range(1, num_levels))

        self.classifier = (SelfTeacherClassifier(out[-1], num_classes)
                           if num_classes is not None else None)

    def forward(self, features: Sequence[Tensor]) -> List[Tensor]:
        """Refine the stage maps ``[F_1, ..., F_n]`` into ``[relu(T_1), ..., relu(T_n)]``."""
        if len(features) != len(self.in_channels):
            raise ValueError(f'BiFPNSelfTeacher was built for {len(self.in_channels)} stages, '
                             f'got {len(features)} feature maps')
        num_levels = len(features)
        activated = [F.relu(f) for f in features]
        laterals = [conv(f) for conv, f in zip(self.lateral, activated)]
        bottom_up_laterals = [conv(f) for conv, f in zip(self.bottom_up_lateral, activated[1:])]

        top_down = [laterals[-1]]
        for level in range(num_levels - 2, -1, -1):
            w = fast_normalized_weights(self.top_down_weights[level])
            # laterals end with a ReLU: the official relu(L_i) is the identity here
            fused = (w[0] * laterals[level]
                     + w[1] * self.top_down_resample[level](F.relu(top_down[0]),
                                                            laterals[level].shape[-2:]))
            top_down.insert(0, self.top_down_blocks[level](fused))

        outputs = [top_down[0]]
        for level in range(1, num_levels):
            node = level - 1
            w = fast_normalized_weights(self.bottom_up_weights[node])
            downsampled = self.bottom_up_resample[node](F.relu(outputs[-1]),
                                                        bottom_up_laterals[node].shape[-2:])
            if level < num_levels - 1:
                fused = (w[0] * bottom_up_laterals[node] + w[1] * F.relu(top_down[level])
                         + w[2] * downsampled)
            else:
                fused = w[0] * bottom_up_laterals[node] + w[1] * downsampled
            outputs.append(self.bottom_up_blocks[node](fused))
        return [F.relu(f) for f in outputs]
