"""Fresh copies of a backbone's stages, for auxiliary branches (MixSKD, HSSAKD).

Both methods attach, after an early stage, a branch made of *new* copies of the remaining
stages of the same backbone. Building them from the backbone's own stage definitions keeps
one code path for every depth and family.

Supported backbones:

- any backbone that defines ``make_stage(stage_index, in_channels, stride) -> nn.Module``
  (mmselfkd's CIFAR backbones), and
- mmpretrain's ``ResNet`` family (``ResNet``, ``ResNet_CIFAR``, ``ResNetV1c``, ``ResNetV1d``),
  through its ``make_res_layer``.
"""
from typing import Any, Callable, List, Optional

from torch import Tensor, nn

from mmselfkd.models.backbones.utils import stage_layers


def _is_mmpretrain_resnet(backbone: nn.Module) -> bool:
    return all(hasattr(backbone, name)
               for name in ('make_res_layer', 'res_layers', 'stage_blocks', 'block'))


def stage_out_channels(backbone: nn.Module) -> List[int]:
    """Output channels of every stage of ``backbone``, in order."""
    if hasattr(backbone, 'stage_channels'):
        return list(backbone.stage_channels)
    if _is_mmpretrain_resnet(backbone):
        return [getattr(backbone, name)[-1].out_channels for name in backbone.res_layers]
    raise TypeError(f'{type(backbone).__name__} has no `stage_channels` and is not an '
                    'mmpretrain ResNet; stage copies need one of the two.')


def stage_modules(backbone: nn.Module) -> List[nn.Module]:
    """The modules that compute the stages of ``backbone``, in order (an mmpretrain ResNet's
    ``res_layers``, or ``layer1``, ``layer2``, ... of a backbone with ``strides``)."""
    if _is_mmpretrain_resnet(backbone):
        return [getattr(backbone, name) for name in backbone.res_layers]
    if hasattr(backbone, 'strides') and hasattr(backbone, 'layer1'):
        return stage_layers(backbone)
    raise TypeError(f'{type(backbone).__name__}: stage modules of mmpretrain ResNets and of '
                    'backbones with `strides` and `layer1`, ... are known')


def build_stage(backbone: nn.Module, stage_index: int, in_channels: int,
                stride: int) -> nn.Module:
    """A fresh, independently initialised copy of stage ``stage_index`` of ``backbone``.

    Args:
        backbone: the backbone whose stage definition is copied.
        stage_index: 0-based index of the stage to copy.
        in_channels: input channels of the copy (the previous stage's output channels).
        stride: stride at the entry of the copy (2 for a down-sampling stage, 1 for the
            extra stride-1 stage of HSSAKD's last branch).
    """
    if hasattr(backbone, 'make_stage'):
        return backbone.make_stage(stage_index, in_channels, stride)
    if not _is_mmpretrain_resnet(backbone):
        raise TypeError(f'Cannot copy stages of {type(backbone).__name__}: auxiliary branches '
                        'support mmpretrain ResNets and backbones with a '
                        '`make_stage(stage_index, in_channels, stride)` method.')
    num_stages = len(backbone.res_layers)
    if not 0 <= stage_index < num_stages:
        raise IndexError(f'stage_index {stage_index} out of range for {num_stages} stages')
    original = getattr(backbone, backbone.res_layers[stage_index])
    return backbone.make_res_layer(
        block=backbone.block,
        num_blocks=backbone.stage_blocks[stage_index],
        in_channels=in_channels,
        out_channels=original[-1].out_channels,
        expansion=backbone.expansion,
        stride=stride,
        dilation=1,
        style=backbone.style,
        avg_down=backbone.avg_down,
        with_cp=backbone.with_cp,
        conv_cfg=backbone.conv_cfg,
        norm_cfg=backbone.norm_cfg,
        drop_path_rate=0.0)


def run_blocks(stages: nn.Sequential, x: Tensor,
               recompute: Optional[Callable[..., Any]] = None) -> Tensor:
    """``stages(x)``, where each stage is a sequence of blocks (a CIFAR backbone's stage, an
    mmpretrain ``ResLayer``) or one module.

    Args:
        stages: the stages, in order.
        x: their input.
        recompute: runs each block, ``recompute(block, x, modules=[block])``; the
            memory-saving mode passes
            :meth:`~mmselfkd.models.algorithms.BaseSelfKDAlgorithm.run_training_only`, so
            that each block is recomputed in the backward pass on its own and only the
            blocks' outputs are kept. Defaults to None: ``stages(x)``.
    """
    if recompute is None:
        return stages(x)
    for stage in stages:
        for block in (stage if isinstance(stage, nn.Sequential) else [stage]):
            x = recompute(block, x, modules=[block])
    return x
