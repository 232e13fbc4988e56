from .warmup import LinearWarmupLR, LinearWarmupParamScheduler

__all__ = ['LinearWarmupLR', 'LinearWarmupParamScheduler']
