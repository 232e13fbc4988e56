"""MixSKD's auxiliary branches and discriminators.

Official code: winycg/Self-KD-Lib at commit ede3062, ``models/resnet_mixskd.py``
(``Auxiliary_Classifier``, lines 161-201) and ``methods/adversarial.py`` (``Discriminator``,
lines 6-17).
"""
import copy
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from .stage_copies import build_stage, run_blocks


class MixSKDBranch(BaseModule):
    """Fresh copies of the backbone stages after stage ``k``, then pooling and a classifier.

    Args:
        stages: the copied stages, in order.
        out_channels: channels of the last copied stage.
        num_classes: number of classes.
        init_cfg: initialisation of the copies (the backbone's own ``init_cfg``).
    """

    def __init__(self, stages: Sequence[nn.Module], out_channels: int, num_classes: int,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(out_channels, num_classes)

    @classmethod
    def from_backbone(cls, backbone: nn.Module, first: int, channels: List[int],
                      num_classes: int) -> 'MixSKDBranch':
        """The branch on stage ``first - 1`` of ``backbone``: copies of stages ``first ..``
        at the backbone's strides, initialised by the backbone's ``init_cfg`` (unless that
        loads pretrained weights, which do not fit the copies)."""
        strides = getattr(backbone, 'strides', None)
        stages = [build_stage(backbone, index, channels[index - 1],
                              strides[index] if strides is not None else 2)
                  for index in range(first, len(channels))]
        init_cfg = copy.deepcopy(getattr(backbone, 'init_cfg', None))
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            init_cfg = None
        return cls(stages, channels[-1], num_classes, init_cfg=init_cfg)

    def forward(self, feature: Tensor,
                recompute: Optional[Callable[..., Any]] = None) -> Tuple[Tensor, Tensor]:
        """Returns the branch's last feature map and its logits; ``recompute`` runs each
        block of the copied stages (:func:`~.stage_copies.run_blocks`)."""
        feature = run_blocks(self.stages, feature, recompute)
        return feature, self.fc(feature.mean(dim=(2, 3)))


def build_discriminator(in_channels: int, hidden_channels: int = 128) -> nn.Sequential:
    """One MixSKD discriminator (official ``Discriminator``): Linear -> ReLU -> Linear(2),
    applied to globally pooled features."""
    return nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
                         nn.Linear(hidden_channels, 2))
