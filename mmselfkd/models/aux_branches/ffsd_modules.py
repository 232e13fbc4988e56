"""FFSD's training-only modules: fusion, trans-fusion, self-distillation (SJLeo/FFSD
``models/fusion_module.py`` and ``models/self_distillation.py``).

None of them is deployed: only the leader network is exported.
"""
from typing import List, Optional, Sequence

from torch import Tensor, nn

from mmselfkd.models.utils import init_conv_bn
from mmselfkd.registry import MODELS


def _depthwise_pointwise(in_channels: int, out_channels: int) -> nn.Sequential:
    """DWConv3x3 -> BN -> ReLU -> Conv1x1 -> BN -> ReLU, all convolutions bias-free."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
        nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


@MODELS.register_module()
class FFSDFusionModule(nn.Module):
    """Fusion module Phi: fuses the students' last-stage features into ``V`` and logits ``z_f``.

    ``U = cat(F_1, ..., F_M)`` (``M*C`` channels) -> DWConv3x3 -> BN -> ReLU -> Conv1x1 to
    ``C`` -> BN -> ReLU gives the fused feature ``V``; global average pooling and a linear
    classifier give ``z_f``. The official ``AvgPool2d(8)`` (``7`` on ImageNet) covers the whole
    last-stage map, so it is a global average here.

    Args:
        in_channels: channels ``C`` of one student's last-stage feature.
        num_classes: number of classes.
        num_students: number ``M`` of fused students. Defaults to 2.
    """

    def __init__(self, in_channels: int, num_classes: int, num_students: int = 2):
        super().__init__()
        self.in_channels = in_channels
        self.num_students = num_students
        self.fuse = _depthwise_pointwise(in_channels * num_students, in_channels)
        self.fc = nn.Linear(in_channels, num_classes)
        init_conv_bn(self)  # the official init of the fusion and leader modules

    def forward(self, students_feature: Tensor):
        """``(N, M*C, H, W)`` concatenated features -> ``(V, z_f)``."""
        fused = self.fuse(students_feature)
        return fused, self.fc(fused.mean(dim=(2, 3)))


@MODELS.register_module()
class FFSDTransFusion(nn.Module):
    """The leader's trans-fusion module: maps its last feature to the students' width.

    DWConv3x3 (``C``) -> BN -> ReLU -> Conv1x1 (``C`` -> ``M*C``) -> BN -> ReLU. It is trained
    with the leader (same optimizer and initialisation) so that ``A(tau_0)`` matches the
    attention of the concatenated students' features ``U``.

    Args:
        in_channels: channels ``C`` of the leader's last-stage feature.
        num_students: number ``M`` of students. Defaults to 2.
    """

    def __init__(self, in_channels: int, num_students: int = 2):
        super().__init__()
        self.transform = _depthwise_pointwise(in_channels, in_channels * num_students)
        init_conv_bn(self)  # the official init of the fusion and leader modules

    def forward(self, feature: Tensor) -> Tensor:
        return self.transform(feature)


@MODELS.register_module()
class FFSDSelfDistiller(nn.Module):
    """Self-distillation module Psi: transposed convolutions from the deepest stage upwards.

    Each layer is ConvTranspose2d(k3, s2, p1, output padding 1, no bias) -> BN -> ReLU and
    doubles the resolution. The outputs are returned shallow first, so ``outputs[l]`` pairs
    with the network's stage-``l`` feature. PyTorch default init, as in the official code.

    Args:
        in_channels: channels of the deepest stage feature (64 for CIFAR ResNet-32).
        num_layers: number of transposed convolutions = number of stages - 1. Defaults to 2.
        out_channels: output channels of the layers, deepest first. Defaults to None: each
            layer halves the channels (the official ``SelfDistillationModel``).
            :class:`~mmselfkd.models.algorithms.FFSD` fills in the channels of the shallower
            stages, which is the official ``DIYSelfDistillationModel`` of DenseNet-40
            (456 -> 312 -> 168) and GoogLeNet (1024 -> 832 -> 480), and the same as halving
            for the official ResNets and WRNs.
    """

    def __init__(self, in_channels: int, num_layers: int = 2,
                 out_channels: Optional[Sequence[int]] = None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'FFSDSelfDistiller.num_layers must be >= 1, got {num_layers}')
        if out_channels is None:
            out_channels = [in_channels // 2**(i + 1) for i in range(num_layers)]
        out_channels = list(out_channels)
        if len(out_channels) != num_layers or min(out_channels) < 1:
            raise ValueError(f'FFSDSelfDistiller.out_channels needs num_layers={num_layers} '
                             f'positive values, got {out_channels}')
        layers = []
        for channels_in, channels_out in zip([in_channels] + out_channels, out_channels):
            layers.append(nn.Sequential(
                nn.ConvTranspose2d(channels_in, channels_out, 3, stride=2, padding=1,
                                   output_padding=1, bias=False),
                nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True)))
        self.layers = nn.ModuleList(layers)

    def forward(self, feature: Tensor) -> List[Tensor]:
        outputs = []
        for layer in self.layers:
            feature = layer(feature)
            outputs.append(feature)
        return outputs[::-1]


__all__ = ['FFSDFusionModule', 'FFSDTransFusion', 'FFSDSelfDistiller']
