"""Pieces shared by the CIFAR backbones."""
from typing import List, Sequence, Tuple

from torch import Tensor, nn

from mmselfkd.models.utils import init_conv_bn


def check_out_indices(out_indices: Sequence[int], num_stages: int, owner: str) -> Tuple[int, ...]:
    """``out_indices`` as a tuple, after checking that it lists increasing stage indices."""
    out_indices = tuple(out_indices)
    if not out_indices or any(not 0 <= i < num_stages for i in out_indices) \
            or list(out_indices) != sorted(set(out_indices)):
        raise ValueError(f'{owner}.out_indices must be increasing stage indices in '
                         f'[0, {num_stages - 1}], got {out_indices}')
    return out_indices


def initialised_stage(blocks: Sequence[nn.Module]) -> nn.Sequential:
    """The blocks as one stage, with the official conv/BN initialisation."""
    stage = nn.Sequential(*blocks)
    init_conv_bn(stage)
    return stage


def stage_layers(backbone: nn.Module) -> List[nn.Module]:
    """``backbone.layer1``, ``layer2``, ...: one stage per entry of ``strides``."""
    return [getattr(backbone, f'layer{index + 1}') for index in range(len(backbone.strides))]


def run_layers(backbone: nn.Module, x: Tensor) -> List[Tensor]:
    """The outputs of the stages :func:`stage_layers`, in order."""
    outputs = []
    for layer in stage_layers(backbone):
        x = layer(x)
        outputs.append(x)
    return outputs
