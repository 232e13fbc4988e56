"""The memory format of the small maps of a channels-last training step."""
from functools import partial
from typing import Iterable

from torch import Tensor, nn

#: maps with a side below this many pixels run in the contiguous format
MIN_CHANNELS_LAST_SIZE = 8


def keep_small_maps_contiguous(stages: Iterable[nn.Module],
                               min_size: int = MIN_CHANNELS_LAST_SIZE) -> None:
    """Make each of ``stages`` whose output maps have a side below ``min_size`` take its input
    in the contiguous format (a forward pre-hook on the stage, or on its first block; a
    contiguous input is left as it is).

    In a channels-last step (:meth:`~mmselfkd.models.algorithms.BaseSelfKDAlgorithm.step_layout`)
    oneDNN runs the 3x3 convolutions that end at 4x4 maps slower than in the contiguous format
    (measured on 2 CPU cores, batch 32: the backward of a stride-2 256->512 convolution to 4x4
    maps 1.8x, of a 512->512 one on 4x4 maps 1.2x; from 8x8 maps on, channels-last is faster),
    so such a stage (ResNet-18's last stage on CIFAR images and its copies) runs contiguous:
    one conversion of its input, against the time it saves.

    Args:
        stages: modules whose first argument is a map; a stage's output size is its input
            size divided by the largest stride of its convolutions.
        min_size: the smallest side of a channels-last output map.
    """
    for stage in stages:
        stride = max((m.stride[0] for m in stage.modules() if isinstance(m, nn.Conv2d)),
                     default=1)
        # on the first block of a sequence of blocks, so that the stage's input is converted
        # also when its blocks run one by one (the memory-saving mode's ``run_blocks``)
        first = stage[0] if isinstance(stage, nn.Sequential) and len(stage) else stage
        first.register_forward_pre_hook(partial(_contiguous_small_input, stride=stride,
                                                min_size=min_size))


def _contiguous_small_input(module: nn.Module, args: tuple, stride: int, min_size: int):
    x = args[0]
    if isinstance(x, Tensor) and x.dim() == 4 and not x.is_contiguous() \
            and -(-min(x.shape[-2:]) // stride) < min_size:
        return (x.contiguous(), ) + tuple(args[1:])
    return None
