from typing import List

from torch import nn


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int,
                 bias: bool = False) -> List[nn.Module]:
    """``[conv (stride 1, "same" padding), BN, ReLU]`` as a list, so that callers keep the
    flat module names of the official networks (``nn.Sequential(*conv_bn_relu(...))``)."""
    return [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                      bias=bias),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
