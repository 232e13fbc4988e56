from .export_hook import ExportDeployableHook
from .loss_weight_schedule import (DistillRampupHook, LossWeightWarmupHook,
                                   delayed_rampup_factor, warmup_factor)
from .nonfinite_loss_hook import NonFiniteLossHook
from .preflight_check_hook import PreflightCheckHook
from .random_state_hook import RandomStateHook, seed_worker
from .resume_check_hook import ResumeCheckHook

#: hooks that ``tools/train.py`` adds to every run whose config does not list them itself
SAFETY_HOOKS = ('NonFiniteLossHook', 'PreflightCheckHook', 'RandomStateHook', 'ResumeCheckHook')


def add_safety_hooks(cfg) -> None:
    """Append each of :data:`SAFETY_HOOKS` to ``cfg.custom_hooks`` unless already listed.

    A config that lists one of them (``dict(type='mmselfkd.NonFiniteLossHook', max_skips=8)``)
    keeps its own settings.
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    listed = {str(h.get('type', '')).split('.')[-1] for h in hooks if isinstance(h, dict)}
    hooks += [dict(type=f'mmselfkd.{name}') for name in SAFETY_HOOKS if name not in listed]
    cfg.custom_hooks = hooks


__all__ = [
    'ExportDeployableHook', 'DistillRampupHook', 'LossWeightWarmupHook', 'warmup_factor',
    'delayed_rampup_factor', 'NonFiniteLossHook', 'PreflightCheckHook', 'RandomStateHook',
    'ResumeCheckHook', 'seed_worker', 'SAFETY_HOOKS', 'add_safety_hooks'
]
