import math

from torch import nn


def init_conv_bn(module: nn.Module, zero_conv_bias: bool = False) -> None:
    """The official initialisation: convs ``N(0, sqrt(2 / (k*k*C_out)))`` (He fan-out),
    BatchNorm weight 1 and bias 0. Conv biases (if any) keep PyTorch's default, or start at 0
    with ``zero_conv_bias`` (RepDistiller's VGG)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if zero_conv_bias and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
