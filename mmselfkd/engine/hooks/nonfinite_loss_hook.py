import math

import torch
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict

from mmselfkd.registry import HOOKS
from mmselfkd.utils.errors import NonFiniteLossError


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first non-finite loss term; never save a non-finite checkpoint.

    After every iteration the logged loss terms (already copied to the host by MMEngine's
    ``RuntimeInfoHook``, so this adds no synchronisation) are checked. A NaN or infinite
    term stops the run at once with the iteration and the names of the non-finite terms,
    before ``CheckpointHook`` can save the diverged weights; the checkpoints of earlier
    epochs stay as they were. Independently, every checkpoint is checked before it is
    written: one whose weights are not all finite is refused (this also catches a process
    of a distributed run whose own loss stayed finite while another's did not).

    ``tools/train.py`` adds this hook to every run. With mixed precision, a non-finite loss
    makes the loss scaler skip the update (the weights stay finite), so AMP runs may allow
    ``max_skips`` consecutive such steps before stopping. Without AMP the update has already
    used the non-finite gradients, so the run always stops.

    Args:
        max_skips: consecutive non-finite steps tolerated under AMP
            (``AmpOptimWrapper``). Defaults to 0.
    """

    priority = 'ABOVE_NORMAL'  # after RuntimeInfoHook, before CheckpointHook saves

    def __init__(self, max_skips: int = 0):
        if not isinstance(max_skips, int) or max_skips < 0:
            raise ValueError(f'NonFiniteLossHook.max_skips must be an int >= 0, got '
                             f'{max_skips!r}')
        self.max_skips = max_skips
        self._skipped = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        bad = sorted(name for name, value in (outputs or {}).items()
                     if 'loss' in name and not math.isfinite(float(value)))
        if not bad:
            self._skipped = 0
            return
        self._skipped += 1
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        values = ', '.join(f'{name}={float(outputs[name])}' for name in bad)
        if _uses_amp(runner.optim_wrapper) and self._skipped <= self.max_skips:
            runner.logger.warning(f'non-finite loss at {where}: {values}; the loss scaler '
                                  f'skipped the update ({self._skipped} of {self.max_skips} '
                                  'consecutive skips allowed)')
            return
        raise NonFiniteLossError(
            f'non-finite loss at {where}: {values}. Training stopped; no checkpoint of this '
            'epoch was saved. Lower the learning rate or check the data; mixed-precision runs '
            "can tolerate skipped steps with custom_hooks=[dict(type='mmselfkd."
            "NonFiniteLossHook', max_skips=N)].")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = [name for name, value in checkpoint.get('state_dict', {}).items()
               if torch.is_tensor(value) and value.is_floating_point()
               and not torch.isfinite(value).all()]
        if bad:
            raise NonFiniteLossError(
                f'refusing to save a checkpoint at iteration {runner.iter + 1}: '
                f'{len(bad)} tensors are not finite ({", ".join(bad[:5])}'
                f'{", ..." if len(bad) > 5 else ""}). Training stopped.')


def _uses_amp(optim_wrapper) -> bool:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return all(isinstance(w, AmpOptimWrapper) for w in optim_wrapper.values())
    return isinstance(optim_wrapper, AmpOptimWrapper)
