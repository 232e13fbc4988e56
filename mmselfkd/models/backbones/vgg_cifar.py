"""CIFAR VGG with BN of HSSAKD (winycg/HSAKD ``models/vgg.py``, RepDistiller's VGG)."""
from typing import Dict, List, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmselfkd.registry import MODELS
from mmselfkd.models.utils import conv_bn_relu, init_conv_bn
from .utils import check_out_indices

#: conv widths of the five blocks (RepDistiller's ``cfg``)
ARCH: Dict[int, List[List[int]]] = {
    8: [[64], [128], [256], [512], [512]],
    11: [[64], [128], [256, 256], [512, 512], [512, 512]],
    13: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    16: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    19: [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
}


def conv_block(widths: Sequence[int], in_channels: int) -> List[nn.Module]:
    """[conv3x3 (bias) -> BN -> ReLU] per width, then a ReLU after the block (the official
    block drops its last ReLU and the forward applies one: the same function)."""
    layers: List[nn.Module] = []
    for width in widths:
        layers += conv_bn_relu(in_channels, width, 3, bias=True)
        in_channels = width
    return layers


@MODELS.register_module()
class CIFARVGG(BaseModule):
    """CIFAR VGG-``depth`` with BN (RepDistiller's ``vgg{depth}_bn``, no FC layers but the
    classifier).

    Four stages, the official feature taps at a 32 x 32 input: ``block0`` (64 x 32^2); 2x2
    max-pool + ``block1`` (128 x 16^2); max-pool + ``block2`` (256 x 8^2); max-pool +
    ``block3`` + ``block4`` (512 x 4^2), each block ending with a ReLU. (The official pool
    between ``block3`` and ``block4`` exists only for 64 x 64 inputs and is not offered.)
    :meth:`make_stage` builds the stage copies of HSSAKD's auxiliary branches exactly as the
    official ``Auxiliary_Classifier``: a max-pool at stride 2, none for the extra stride-1
    copy of the last stage; they keep PyTorch's default init, as the official ones (whose
    init function is never called). VGG-13: 9.462 M parameters with a 100-class FC.

    Args:
        depth: 8, 11, 13, 16 or 19. Defaults to 13.
        out_indices: stages whose outputs are returned, increasing. Defaults to (3,).
        init_cfg: extra initialisation; the official init (convs ``N(0, sqrt(2 / (9 C_out)))``
            with bias 0, BN 1/0) is applied at construction.
    """

    num_stages = 4

    def __init__(self, depth: int = 13, out_indices: Sequence[int] = (3, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if depth not in ARCH:
            raise ValueError(f'CIFARVGG.depth must be one of {sorted(ARCH)}, got {depth}')
        self.out_indices = check_out_indices(out_indices, self.num_stages, 'CIFARVGG')
        self.blocks = ARCH[depth]
        self.stage_channels: List[int] = [block[-1] for block in self.blocks[:3]] + \
            [self.blocks[4][-1]]
        self.stage0 = nn.Sequential(*conv_block(self.blocks[0], 3))
        for index in range(1, self.num_stages):
            self.add_module(f'stage{index}',
                            self.make_stage(index, self.stage_channels[index - 1], 2))
        init_conv_bn(self, zero_conv_bias=True)

    def make_stage(self, stage_index: int, in_channels: int, stride: int) -> nn.Sequential:
        """A fresh (PyTorch-default-initialised) stage ``stage_index`` taking
        ``in_channels``; ``stride=2`` puts the 2x2 max-pool in front."""
        layers: List[nn.Module] = [nn.MaxPool2d(2, 2)] if stride == 2 else []
        layers += conv_block(self.blocks[stage_index], in_channels)
        if stage_index == self.num_stages - 1:  # block3 and block4 share the last stage
            layers += conv_block(self.blocks[4], self.blocks[3][-1])
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for index in range(self.num_stages):
            x = getattr(self, f'stage{index}')(x)
            outs.append(x)
        return tuple(outs[i] for i in self.out_indices)
