"""Per-iteration linear warm-up ``lr = base * (1 + j) / n`` (Self-KD-Lib ``adjust_lr``)."""
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mmselfkd.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class LinearWarmupParamScheduler(_ParamScheduler):
    """Linear warm-up that reaches the base value at the last warm-up step.

    Step ``j = 0 .. n-1`` of ``[begin, end)`` (``n = end - begin``) sets the value to
    ``base * (1 + j) / n``: the first step is already ``base / n`` and the last one is
    ``base``. This is MixSKD's official warm-up (winycg/Self-KD-Lib ``utils.py``
    ``adjust_lr``: ``0.1 * (1 + j) / (5 * N)`` over the first 5 epochs of ``N`` iterations).
    MMEngine's ``LinearLR(start_factor=1/n)`` gives ``1/n + (1 - 1/n) * j / (n - 1)`` instead,
    which differs at every step but the first and the last.

    The value is computed from the base value (``initial_<param>``), not chained on the
    current one, so run other schedulers after ``end`` (``begin=end`` of this one).

    Args:
        optimizer: wrapped optimizer.
        param_name: the scheduled parameter, e.g. ``'lr'``.
        begin: first step of the warm-up. Defaults to 0.
        end: step after the last warm-up step; must be given.
        last_step: index of the last step, for resuming without a state dict.
        by_epoch: whether ``begin``/``end`` count epochs. Use ``by_epoch=True`` with
            ``convert_to_iter_based=True`` to warm up per iteration over whole epochs.
        verbose: print every update.
    """

    def __init__(self, optimizer, param_name: str, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        if end == INF:
            raise ValueError(f'{type(self).__name__} needs an explicit `end` (the step after '
                             'the last warm-up step), e.g. end=5 with by_epoch=True')
        super().__init__(optimizer, param_name=param_name, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int = None, **kwargs):
        """Build the per-iteration scheduler from ``begin``/``end`` given in epochs."""
        if not by_epoch:
            raise ValueError('convert_to_iter_based needs by_epoch=True')
        if not epoch_length or epoch_length <= 0:
            raise ValueError(f'epoch_length must be a positive integer, got {epoch_length}')
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def _get_value(self):
        num_steps = self.end - self.begin
        return [base * (self.last_step + 1) / num_steps for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class LinearWarmupLR(LRSchedulerMixin, LinearWarmupParamScheduler):
    """Learning-rate version of :class:`LinearWarmupParamScheduler`.

    MixSKD CIFAR recipe (N iterations per epoch)::

        param_scheduler = [
            dict(type='mmselfkd.LinearWarmupLR', by_epoch=True, begin=0, end=5,
                 convert_to_iter_based=True),        # 0.1 * (1 + j) / (5N), j < 5N
            dict(type='MultiStepLR', by_epoch=True, begin=5, end=205,
                 milestones=[100, 150], gamma=0.1),  # 0.01 from epoch 105, 0.001 from 155
        ]

    Args: see :class:`LinearWarmupParamScheduler` (without ``param_name``).
    """
