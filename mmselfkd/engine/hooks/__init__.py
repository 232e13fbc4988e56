from .export_hook import ExportDeployableHook
from .loss_weight_warmup import LossWeightWarmupHook, warmup_factor

__all__ = ['ExportDeployableHook', 'LossWeightWarmupHook', 'warmup_factor']
