from .export_hook import ExportDeployableHook
from .loss_weight_schedule import (DistillRampupHook, LossWeightWarmupHook,
                                   delayed_rampup_factor, warmup_factor)

__all__ = [
    'ExportDeployableHook', 'DistillRampupHook', 'LossWeightWarmupHook', 'warmup_factor',
    'delayed_rampup_factor'
]
