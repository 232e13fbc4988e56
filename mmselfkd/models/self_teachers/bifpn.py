"""FRSKD's BiFPN self-teacher (official ``BiFPNc``).

Official code: MingiJi/FRSKD at commit 98b87e5, ``classification/models/bifpnc.py`` (the
``BiFPN_layer`` forward, lines 85-122) and ``classification/models/utils.py`` (its blocks).

The self-teacher is a pure neck: a list of backbone stage maps (finest first, each level half
the size of the previous one, or the same size) goes in, the refined list comes out. The head
that classifies the refined maps is built by FRSKD's task adapter: for an image classifier the
official classifier (:class:`SelfTeacherClassifier`), for a segmentor or detector a host head.
"""
import math
from typing import Any, Callable, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmselfkd.registry import MODELS


class ConvBNReLU1x1(nn.Sequential):
    """Bias-free 1x1 conv -> BN -> ReLU: the official lateral and resampling projections.

    (The official ``DepthConvBlock`` with kernel 1 ignores its ``depth``.) The ReLU works in
    place on the BN output, which BN's backward does not need.

    ``forward(x, scale)`` with a non-negative scalar tensor ``scale`` (a fusion weight) gives
    ``scale * relu(bn(conv(x)))`` without a pass of its own: BN runs with its affine weight
    and bias multiplied by ``scale`` (ReLU commutes with a non-negative factor; BN's batch and
    running statistics do not depend on its affine parameters), and the weight's gradient
    comes from BN's per-channel ones instead of a full-size product.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

    def forward(self, x: Tensor, scale: Optional[Tensor] = None) -> Tensor:
        conv, norm, _ = self
        if scale is None:
            return super().forward(x)
        x = conv(x)
        if type(norm) is not nn.BatchNorm2d:  # e.g. converted to SyncBatchNorm
            return F.relu(norm(x), inplace=True) * scale
        return F.relu(_scaled_batch_norm(norm, x, scale), inplace=True)


def _scaled_batch_norm(norm: nn.BatchNorm2d, x: Tensor, scale: Tensor) -> Tensor:
    """``scale * norm(x)``: ``nn.BatchNorm2d.forward`` with the affine parameters scaled."""
    momentum = 0.0 if norm.momentum is None else norm.momentum
    if norm.training and norm.track_running_stats:
        norm.num_batches_tracked.add_(1)
        if norm.momentum is None:  # cumulative moving average
            momentum = 1.0 / float(norm.num_batches_tracked)
    use_batch_stats = norm.training or norm.running_mean is None
    track = not norm.training or norm.track_running_stats
    return F.batch_norm(x, norm.running_mean if track else None,
                        norm.running_var if track else None,
                        norm.weight * scale, norm.bias * scale, use_batch_stats, momentum,
                        norm.eps)


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
    """3x3 stride-2 max-pool with TensorFlow "same" padding, so the output is ``ceil(H/2)``,
    for non-negative inputs (every use here pools ReLU outputs).

    The official code pads with zeros, the smaller half on the left/top (for even sizes: 0
    left, 1 right), then pools. For inputs >= 0 a zero pad never wins a window that holds a
    real value, so the same output comes from ``max_pool2d`` with the left padding and
    ``ceil_mode`` (which lets the last window overhang on the right) without writing a padded
    copy of the map; gradients are equal too, since a ReLU passes none to its zeros.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 2):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def _left_padding(self, size: int) -> int:
        """The smaller half of the "same" padding of a side of ``size``."""
        extra = max((math.ceil(size / self.stride) - 1) * self.stride - size + self.kernel_size, 0)
        return extra // 2

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        padding = (self._left_padding(height), self._left_padding(width))
        return F.max_pool2d(x, self.kernel_size, self.stride, padding=padding, ceil_mode=True)


class UpsampleProject(nn.Module):
    """Nearest upsampling to the finer level's size and :class:`ConvBNReLU1x1`.

    For a level of exactly twice the size this is the official ``nn.Upsample(scale_factor=2)``
    followed by the projection, computed in the cheaper, equivalent order: the projection runs
    at the coarse size and the map is returned *there*, for :func:`add_upsampled` to
    upsample while it adds it. Nearest x2 upsampling repeats every value 4 times, so it
    commutes with the 1x1 conv, with ReLU and with training-mode BatchNorm (the batch mean and
    biased variance of a map whose values are each repeated 4 times are unchanged): outputs
    and gradients are the official ones, at a quarter of the projection's cost. (Only the
    ``n/(n-1)`` factor of the BN *running* variance differs, and the self-teacher never runs
    in eval mode.) Odd-sized levels (an FPN of a padded detection image: 13 under 25) get
    index ``floor(i / 2)``, the alignment of the stride-2 "same" downsampling that made them,
    and keep the official order and the full size; levels of equal size (dilated
    segmentation backbones, output stride 8) are not resampled.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.project = ConvBNReLU1x1(in_channels, out_channels)

    def forward(self, x: Tensor, size: Sequence[int], scale: Optional[Tensor] = None) -> Tensor:
        """The projected map (times ``scale``) at ``size``, or at half of it when ``size`` is
        exactly twice the size of ``x``: then :func:`add_upsampled` upsamples it."""
        size = tuple(size)
        if size in (tuple(x.shape[-2:]), (2 * x.shape[-2], 2 * x.shape[-1])):
            return self.project(x, scale)
        return self.project(F.interpolate(x, size=size, mode='nearest'), scale)


class DownsampleProject(nn.Module):
    """:class:`SamePadMaxPool2d` (3x3, stride 2) unless the coarser level has the same size,
    then :class:`ConvBNReLU1x1`."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.pool = SamePadMaxPool2d(3, 2)
        self.project = ConvBNReLU1x1(in_channels, out_channels)

    def forward(self, x: Tensor, size: Sequence[int], scale: Optional[Tensor] = None) -> Tensor:
        if tuple(x.shape[-2:]) != tuple(size):
            x = self.pool(x)
        return self.project(x, scale)


def fast_normalized_weights(weights: Tensor, eps: float = 1e-6) -> Tensor:
    """EfficientDet's fast normalised fusion: ``relu(w) / (sum(relu(w)) + eps)``."""
    weights = F.relu(weights)
    return weights / (weights.sum() + eps)


class _AddUpsampled(torch.autograd.Function):
    """``fine + up(coarse)`` with nearest x2 upsampling, without making ``up(coarse)``."""

    @staticmethod
    def forward(ctx, fine: Tensor, coarse: Tensor) -> Tensor:
        n, c, h, w = coarse.shape
        # each value of coarse fills one 2x2 cell of the output
        cells = fine.view(n, c, h, 2, w, 2) + coarse[:, :, :, None, :, None]
        return cells.reshape(fine.shape)  # a view for dense maps

    @staticmethod
    def backward(ctx, grad: Tensor):
        # the backward of nearest x2 upsampling: the sum over each 2x2 cell
        return grad, F.avg_pool2d(grad, 2, divisor_override=1)


def add_upsampled(fine: Tensor, other: Tensor) -> Tensor:
    """``fine + other``, where ``other`` may also be at exactly half the size of ``fine``; it
    is then nearest-upsampled x2 on the fly (one pass, no upsampled copy)."""
    if other.shape == fine.shape:
        return fine + other
    if other.shape[:2] != fine.shape[:2] or \
            (2 * other.shape[-2], 2 * other.shape[-1]) != tuple(fine.shape[-2:]):
        raise ValueError(f'add_upsampled: a map of shape {tuple(other.shape)} is neither the '
                         f'shape of {tuple(fine.shape)} nor half its size')
    return _AddUpsampled.apply(fine, other)


@MODELS.register_module()
class SelfTeacherClassifier(nn.Module):
    """ReLU -> global average pooling -> linear, on the coarsest refined map (the official
    ``BiFPNc`` classifier, ``bifpnc.py`` line 32).

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
        channels_last: convert the input maps to the channels-last (True) or the contiguous
            (False) memory format. Defaults to None: keep the format of the input maps, i.e.
            of the training step (the algorithms' ``channels_last``: channels-last on the CPU,
            where oneDNN runs this network's depthwise and pointwise convolutions and
            BatchNorms faster in it: measured on 2 cores, CIFAR ResNet-18 maps, batch 32, the
            self-teacher's forward + backward 1.2-1.3x faster).
    """

    def __init__(self, in_channels: Sequence[int], width: int = 2, depth: int = 2,
                 channels_last: Optional[bool] = None):
        super().__init__()
        in_channels = list(in_channels)
        if channels_last not in (None, True, False):
            raise ValueError(f'BiFPNSelfTeacher.channels_last must be None, True or False, got '
                             f'{channels_last!r}')
        self.channels_last = channels_last
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

    def forward(self, features: Sequence[Tensor],
                recompute: Optional[Callable[..., Any]] = None) -> List[Tensor]:
        """Refine the stage maps ``[F_1, ..., F_n]`` into ``[relu(T_1), ..., relu(T_n)]``.

        The official graph, evaluated without repeated work: every fusion input that comes
        out of a conv-BN-ReLU projection (``L_i``, ``R_i``, the resampled maps) is made
        already multiplied by its fusion weight (:class:`ConvBNReLU1x1` ``scale``), so a
        fusion is a sum; every ReLU of a node is taken once, in place on its BatchNorm output
        (``P_i`` feeds the next resampling and the bottom-up node only through
        ``relu(P_i)``, ``T_i`` the next node and the output only through ``relu(T_i)``); the
        ReLU of a lateral, already ReLU'd, is the identity.

        Args:
            features: the backbone maps, finest first.
            recompute: runs each node, ``recompute(function, *tensors, modules=[...])``;
                FRSKD's memory-saving mode passes
                :meth:`~mmselfkd.models.algorithms.BaseSelfKDAlgorithm.run_training_only`,
                so that each node (its lateral, its resampling and its block) is recomputed in
                the backward pass on its own and only the node outputs are kept. Defaults to
                None: each node just runs.
        """
        if len(features) != len(self.in_channels):
            raise ValueError(f'BiFPNSelfTeacher was built for {len(self.in_channels)} stages, '
                             f'got {len(features)} feature maps')
        run = recompute or _run_directly
        num_levels = len(features)
        top_down_weights = [fast_normalized_weights(w) for w in self.top_down_weights]
        bottom_up_weights = [fast_normalized_weights(w) for w in self.bottom_up_weights]
        activated = [F.relu(f) for f in features]
        if self.channels_last is not None:
            memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
            activated = [f.contiguous(memory_format=memory_format) for f in activated]

        # relu(P_i); P_n = L_n, already ReLU'd
        top_down = [None] * (num_levels - 1)
        top_down.append(run(self.lateral[-1], activated[-1], modules=[self.lateral[-1]]))
        for level in range(num_levels - 2, -1, -1):
            top_down[level] = run(
                self._top_down_node, level, activated[level], top_down[level + 1],
                top_down_weights[level],
                modules=[self.lateral[level], self.top_down_resample[level],
                         self.top_down_blocks[level]])

        # relu(T_i); T_1 = P_1
        outputs = [top_down[0]]
        for level in range(1, num_levels):
            node = level - 1
            inner = top_down[level] if level < num_levels - 1 else None
            outputs.append(run(
                self._bottom_up_node, level, activated[level], outputs[-1], inner,
                bottom_up_weights[node],
                modules=[self.bottom_up_lateral[node], self.bottom_up_resample[node],
                         self.bottom_up_blocks[node]]))
        return outputs

    def _top_down_node(self, level: int, feature: Tensor, coarser: Tensor,
                       weights: Tensor) -> Tensor:
        """``relu(P_i)`` from ``relu(F_i)`` and ``relu(P_{i+1})``."""
        lateral = self.lateral[level](feature, weights[0])
        resampled = self.top_down_resample[level](coarser, lateral.shape[-2:], weights[1])
        fused = add_upsampled(lateral, resampled)
        return F.relu(self.top_down_blocks[level](fused), inplace=True)

    def _bottom_up_node(self, level: int, feature: Tensor, finer: Tensor,
                        top_down: Optional[Tensor], weights: Tensor) -> Tensor:
        """``relu(T_i)`` from ``relu(F_i)``, ``relu(T_{i-1})`` and (below the top level)
        ``relu(P_i)``."""
        node = level - 1
        lateral = self.bottom_up_lateral[node](feature, weights[0])
        fused = lateral + self.bottom_up_resample[node](finer, lateral.shape[-2:], weights[-1])
        if top_down is not None:
            fused = fused.addcmul_(top_down, weights[1])
        return F.relu(self.bottom_up_blocks[node](fused), inplace=True)


def _run_directly(function: Callable[..., Any], *args, modules: Sequence[nn.Module] = ()) -> Any:
    """``function(*args)``: a node of the self-teacher, run without recomputation."""
    return function(*args)
