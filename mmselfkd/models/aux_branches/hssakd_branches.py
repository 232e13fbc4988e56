"""HSSAKD auxiliary branches with joint (class x rotation) classifiers (winycg/HSAKD
``models/*.py``, the ``Auxiliary_Classifier`` of each network)."""
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
    copy of the last stage at stride 1. Then the backbone's own end of the network if it has
    one (``make_branch_end()``: MobileNetV2's and ShuffleNetV2's 1x1 conv-BN-ReLU to the
    classifier width), or (for pre-activation backbones such as WRN) a BN + ReLU; global
    average pooling and ``Linear(C, 4 * num_classes)`` (official ``Auxiliary_Classifier`` of
    winycg/HSAKD ``models/*.py``). The stage copies come from the backbone's own stage
    definitions (:func:`build_stage`), so every depth and width of a family is handled by one
    code path; the backbone's ``make_stage`` gives them the official init of that family's
    branches, and copies of an mmpretrain ResNet get the official He fan-out / BN(1, 0) here.

    Args:
        backbone: the backbone the branches attach to (only read, to copy its stages); the
            algorithm passes its network's backbone.
        num_classes: ``K``; the joint heads have ``4K`` outputs.
        final_norm: end each branch with BN + ReLU (backbones without ``make_branch_end``).
            ``None`` (default) means "if the backbone has pre-activation blocks" (its
            ``pre_activation`` attribute, True for WRN).
        fc_init: init of the joint classifiers, as the official branches of the family:
            ``'zero_bias'`` (default; PyTorch's weight init, bias 0: CIFAR ResNet, WRN,
            ShuffleNetV1), ``'default'`` (PyTorch's: VGG, whose init is never called,
            ShuffleNetV2, ImageNet ResNet) or ``'normal'`` (``N(0, 0.01)``, bias 0:
            MobileNetV2).
    """

    FC_INITS = ('zero_bias', 'default', 'normal')

    def __init__(self, backbone: nn.Module, num_classes: int,
                 final_norm: Optional[bool] = None, fc_init: str = 'zero_bias'):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f'HSSAKDBranches.num_classes must be >= 1, got {num_classes}')
        if fc_init not in self.FC_INITS:
            raise ValueError(f'HSSAKDBranches.fc_init must be one of {self.FC_INITS}, got '
                             f'{fc_init!r}')
        if final_norm and hasattr(backbone, 'make_branch_end'):
            raise ValueError(f'HSSAKDBranches.final_norm=True does not apply to '
                             f'{type(backbone).__name__}: its branches end with its own '
                             '`make_branch_end()`; leave final_norm out')
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
            width = channels[-1]
            if hasattr(backbone, 'make_branch_end'):
                layers['end'], width = backbone.make_branch_end()
            elif final_norm:
                layers['norm'] = nn.BatchNorm2d(width)
                layers['relu'] = nn.ReLU(inplace=True)
            layers['pool'] = nn.AdaptiveAvgPool2d(1)
            layers['flatten'] = nn.Flatten(1)
            layers['fc'] = nn.Linear(width, NUM_ROTATIONS * num_classes)
            if fc_init == 'normal':
                nn.init.normal_(layers['fc'].weight, 0.0, 0.01)
            if fc_init != 'default':
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
