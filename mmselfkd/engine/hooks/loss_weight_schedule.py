"""Schedules of distillation loss weights: FFSD's warm-up (SJLeo/FFSD ``CIFARTrainer.py``
``lambda_warmup``) and FRSKD segmentation's delayed sigmoid ramp-up (MingiJi/FRSKD
``segmentation/main.py``, ``sigmoid_rampup`` and its use in the epoch loop), one mechanism for
both."""
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


def delayed_rampup_factor(step: int, delay: int, rampup: int) -> float:
    """The official FRSKD segmentation schedule at 0-based ``step`` (epoch or iteration).

    ``0`` while ``step < delay``, then ``exp(-5 * (1 - (step + 1 - delay) / rampup)**2)``,
    reaching 1 at ``step = delay + rampup - 1`` and staying there (``main.py``: ``warmup``
    40 and ``sigmoid_rampup(epoch + 1 - warmup, num_epochs - warmup)`` over 60 epochs).
    With ``delay=0`` this is FFSD's warm-up: step ``e`` (0-based) gets ``warmup_factor(e + 1)``.
    """
    if step < delay:
        return 0.0
    return warmup_factor(step + 1 - delay, rampup)


@HOOKS.register_module()
class DistillRampupHook(Hook):
    """Sets ``model.<attr>`` to :func:`delayed_rampup_factor` before each epoch or iteration.

    The algorithm multiplies its scheduled loss weights by that attribute (FRSKD: ``alpha``
    of the KL and ``beta`` of the attention transfer; FFSD: ``lambda_div``,
    ``lambda_fusion`` and ``lambda_sd``). The official FRSKD segmentation recipe switches
    distillation off for the first 40 of 60 epochs and ramps it up over the last 20:
    ``dict(type='mmselfkd.DistillRampupHook', delay=40, rampup=20)``; an iteration-based
    schedule (mmseg's ``IterBasedTrainLoop``) uses ``by_epoch=False`` with iteration counts.
    The factor depends on the epoch/iteration only, so a resumed run continues the schedule.
    The current factor is logged as ``distill_weight_factor``.

    Args:
        delay: epochs (iterations) with the scheduled losses switched off.
        rampup: epochs (iterations) of the sigmoid ramp-up after the delay; 0 means a step
            to the full weight.
        by_epoch: count epochs (True) or iterations (False). Defaults to True.
        attr: model attribute holding the factor. Defaults to ``'loss_weight_factor'``.
    """

    priority = 'NORMAL'

    def __init__(self, delay: int, rampup: int, by_epoch: bool = True,
                 attr: str = 'loss_weight_factor'):
        if delay < 0 or rampup < 0:
            raise ValueError(f'{type(self).__name__}.delay and .rampup must be >= 0, got '
                             f'delay={delay}, rampup={rampup}')
        self.delay = delay
        self.rampup = rampup
        self.by_epoch = by_epoch
        self.attr = attr

    def _set(self, runner, step: int) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, self.attr):
            raise AttributeError(f'{type(self).__name__}.attr: {type(model).__name__} has no '
                                 f'attribute {self.attr!r} to schedule')
        factor = delayed_rampup_factor(step, self.delay, self.rampup)
        setattr(model, self.attr, factor)
        runner.message_hub.update_scalar('train/distill_weight_factor', factor)

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._set(runner, runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self.by_epoch:
            self._set(runner, runner.iter)


@HOOKS.register_module()
class LossWeightWarmupHook(DistillRampupHook):
    """FFSD's epoch-wise warm-up: :class:`DistillRampupHook` with no delay.

    MMEngine counts epochs from 0, the official loop from 1, so MMEngine epoch ``e`` uses
    ``warmup_factor(e + 1, warmup_epochs)``.

    Args:
        warmup_epochs: length of the warm-up in epochs. Defaults to 5.
        attr: model attribute holding the factor. Defaults to ``'loss_weight_factor'``.
    """

    def __init__(self, warmup_epochs: int = 5, attr: str = 'loss_weight_factor'):
        if warmup_epochs < 0:
            raise ValueError(f'LossWeightWarmupHook.warmup_epochs must be >= 0, got '
                             f'{warmup_epochs}')
        super().__init__(delay=0, rampup=warmup_epochs, by_epoch=True, attr=attr)
        self.warmup_epochs = warmup_epochs
