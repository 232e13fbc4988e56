"""CIFAR GoogLeNet of FFSD (SJLeo/FFSD ``models/googlenet_cifar.py``)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.registry import MODELS
from mmselfkd.models.utils import conv_bn_relu, init_conv_bn
from .utils import check_out_indices


class Inception(nn.Module):
    """Four branches, concatenated: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3 (the "5x5" branch);
    3x3/1 max-pool -> 1x1. Every conv (with a bias, as official) is followed by BN and
    ReLU."""

    def __init__(self, in_channels: int, n1x1: int, n3x3_reduce: int, n3x3: int,
                 n5x5_reduce: int, n5x5: int, pool_channels: int):
        super().__init__()
        self.branch1x1 = nn.Sequential(*conv_bn_relu(in_channels, n1x1, 1, bias=True))
        self.branch3x3 = nn.Sequential(*conv_bn_relu(in_channels, n3x3_reduce, 1, bias=True),
                                       *conv_bn_relu(n3x3_reduce, n3x3, 3, bias=True))
        self.branch5x5 = nn.Sequential(*conv_bn_relu(in_channels, n5x5_reduce, 1, bias=True),
                                       *conv_bn_relu(n5x5_reduce, n5x5, 3, bias=True),
                                       *conv_bn_relu(n5x5, n5x5, 3, bias=True))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         *conv_bn_relu(in_channels, pool_channels, 1, bias=True))
        self.out_channels = n1x1 + n3x3 + n5x5 + pool_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x), self.branch3x3(x), self.branch5x5(x),
                          self.branch_pool(x)], 1)


@MODELS.register_module()
class CIFARGoogLeNet(BaseModule):
    """CIFAR GoogLeNet (kuangliu-style, FFSD's ``googlenet``).

    3x3 stem conv (192 channels) + BN + ReLU -> inception a3, b3 -> 3x3/2 max-pool -> a4 ... e4
    -> 3x3/2 max-pool -> a5, b5. Stage outputs, the official feature hooks: ``inception_b3``
    (480 x 32^2), ``inception_e4`` (832 x 16^2) and ``inception_b5`` (1024 x 8^2) at a
    32 x 32 input; 6.259 M parameters with a 100-class FC.

    Args:
        out_indices: stages whose outputs are returned, increasing. Defaults to (2,).
        init_cfg: extra initialisation; the official He fan-out / BN(1, 0) init is applied at
            construction (conv biases keep PyTorch's default, as official).
    """

    #: (name, in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj); a stage ends after b3,
    #: e4 and b5
    arch = (('a3', 192, 64, 96, 128, 16, 32, 32), ('b3', 256, 128, 128, 192, 32, 96, 64),
            ('a4', 480, 192, 96, 208, 16, 48, 64), ('b4', 512, 160, 112, 224, 24, 64, 64),
            ('c4', 512, 128, 128, 256, 24, 64, 64), ('d4', 512, 112, 144, 288, 32, 64, 64),
            ('e4', 528, 256, 160, 320, 32, 128, 128), ('a5', 832, 256, 160, 320, 32, 128, 128),
            ('b5', 832, 384, 192, 384, 48, 128, 128))
    stage_ends = ('b3', 'e4', 'b5')

    def __init__(self, out_indices: Sequence[int] = (2, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.out_indices = check_out_indices(out_indices, len(self.stage_ends),
                                             'CIFARGoogLeNet')
        self.pre_layers = nn.Sequential(*conv_bn_relu(3, 192, 3, bias=True))
        self.stage_channels: List[int] = []
        for name, *channels in self.arch:
            module = Inception(*channels)
            self.add_module(f'inception_{name}', module)
            if name in self.stage_ends:
                self.stage_channels.append(module.out_channels)
        init_conv_bn(self)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.pre_layers(x)
        outs = []
        for name, *_ in self.arch:
            x = getattr(self, f'inception_{name}')(x)
            if name in self.stage_ends:
                outs.append(x)
                if len(outs) < len(self.stage_ends):
                    x = F.max_pool2d(x, 3, stride=2, padding=1)
        return tuple(outs[i] for i in self.out_indices)
