"""Epoch-wise exponential warm-up of distillation loss weights (FFSD, spec 4.4)."""
import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmselfkd.registry import HOOKS


def warmup_factor(epoch: int, warmup_epochs: int) -> float:
    """``exp(-5 * (1 - epoch / warmup_epochs)**2)`` for 1-based ``epoch <= warmup_epochs``, else 1.

    FFSD's ``lambda_warmup`` (official epochs start at 1): 0.0408, 0.1653, 0.4493, 0.8187, 1.0
    for epochs 1..5 with ``warmup_epochs=5``.
    """
    if warmup_epochs <= 0 or epoch >= warmup_epochs:
        return 1.0
    return math.exp(-5.0 * (1.0 - epoch / warmup_epochs)**2)


@HOOKS.register_module()
class LossWeightWarmupHook(Hook):
    """Sets ``model.<attr>`` to :func:`warmup_factor` of the epoch before each training epoch.

    The algorithm multiplies its warmed-up loss weights by that attribute (FFSD:
    ``lambda_div``, ``lambda_fusion`` and ``lambda_sd``). MMEngine counts epochs from 0, the
    official loop from 1, so MMEngine epoch ``e`` uses factor ``warmup_factor(e + 1)``. The
    factor depends on the epoch only, so a resumed run gets the same value.

    Args:
        warmup_epochs: length of the warm-up in epochs. Defaults to 5.
        attr: name of the model attribute holding the factor. Defaults to
            ``'loss_weight_factor'``.
    """

    priority = 'NORMAL'

    def __init__(self, warmup_epochs: int = 5, attr: str = 'loss_weight_factor'):
        if warmup_epochs < 0:
            raise ValueError(f'LossWeightWarmupHook.warmup_epochs must be >= 0, got '
                             f'{warmup_epochs}')
        self.warmup_epochs = warmup_epochs
        self.attr = attr

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, self.attr):
            raise AttributeError(f'LossWeightWarmupHook.attr: {type(model).__name__} has no '
                                 f'attribute {self.attr!r} to warm up')
        setattr(model, self.attr, warmup_factor(runner.epoch + 1, self.warmup_epochs))
