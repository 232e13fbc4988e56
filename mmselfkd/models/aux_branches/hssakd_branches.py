"""HSSAKD auxiliary branches with joint (class x rotation) classifiers (spec section 3.3)."""
from collections import OrderedDict
from typing import List, Optional, Sequence

from torch import Tensor, nn

from mmselfkd.models.utils import NUM_ROTATIONS, init_conv_bn
from mmselfkd.registry import MODELS
from .stage_copies import build_stage, stage_out_channels


@MODELS.register_module()
class HSSAKDBranches(nn.Module):
    """One auxiliary branch per backbone stage, each ending in a ``4K``-way joint classifier.

    Branch ``l`` takes the output of stage ``l`` and runs fresh copies of the remaining stages
    ``l+1 .. S-1`` (stride 2 at each entry); the last branch, on the last stage, runs an extra
    copy of the last stage at stride 1. Then (for pre-activation backbones such as WRN) a BN +
    ReLU, global average pooling and ``Linear(C_last, 4 * num_classes)`` (official
    ``Auxiliary_Classifier`` of winycg/HSAKD ``models/resnet.py``, ``models/wrn.py``,
    ``models/resnet_imagenet.py``). The stage copies come from the backbone's own stage
    definitions (:func:`build_stage`), so every depth and width of a family is handled by one
    code path; their convolutions and BNs get the official He fan-out / BN(1, 0) init (the
    CIFAR backbones' ``make_stage`` applies it; copies of an mmpretrain ResNet get it here).

    Args:
        backbone: the backbone the branches attach to (only read, to copy its stages); the
            algorithm passes its network's backbone.
        num_classes: ``K``; the joint heads have ``4K`` outputs.
        final_norm: end each branch with BN + ReLU. ``None`` (default) means "if the backbone
            has pre-activation blocks" (its ``pre_activation`` attribute, True for WRN).
        zero_fc_bias: start the joint classifiers' bias at 0, as the official CIFAR branches
            do. Defaults to True; False keeps PyTorch's default Linear init, as the official
            ImageNet branches (``resnet_imagenet.py``).
    """

    def __init__(self, backbone: nn.Module, num_classes: int,
                 final_norm: Optional[bool] = None, zero_fc_bias: bool = True):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f'HSSAKDBranches.num_classes must be >= 1, got {num_classes}')
        if final_norm is None:
            final_norm = bool(getattr(backbone, 'pre_activation', False))
        channels = stage_out_channels(backbone)
        num_stages = len(channels)
        self.num_classes = num_classes
        branches = []
        for start in range(num_stages):
            layers: 'OrderedDict[str, nn.Module]' = OrderedDict()
            for stage in range(start + 1, num_stages):
                layers[f'stage{stage}'] = build_stage(backbone, stage, channels[stage - 1], 2)
            if start == num_stages - 1:
                layers[f'stage{start}'] = build_stage(backbone, start, channels[start], 1)
            if not hasattr(backbone, 'make_stage'):  # an mmpretrain ResLayer: default init
                for copy in layers.values():
                    init_conv_bn(copy)
            if final_norm:
                layers['norm'] = nn.BatchNorm2d(channels[-1])
                layers['relu'] = nn.ReLU(inplace=True)
            layers['pool'] = nn.AdaptiveAvgPool2d(1)
            layers['flatten'] = nn.Flatten(1)
            layers['fc'] = nn.Linear(channels[-1], NUM_ROTATIONS * num_classes)
            if zero_fc_bias:
                nn.init.zeros_(layers['fc'].bias)
            branches.append(nn.Sequential(layers))
        self.branches = nn.ModuleList(branches)

    def __len__(self) -> int:
        return len(self.branches)

    def forward(self, stage_outputs: Sequence[Tensor]) -> List[Tensor]:
        """Joint logits ``(N, 4K)`` of every branch from the raw outputs of every stage."""
        if len(stage_outputs) != len(self.branches):
            raise ValueError(f'HSSAKDBranches has {len(self.branches)} branches but got '
                             f'{len(stage_outputs)} stage outputs')
        return [branch(x) for branch, x in zip(self.branches, stage_outputs)]
