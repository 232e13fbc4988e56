__all__ = []
from .warmup import LinearWarmupLR, LinearWarmupParamScheduler  # noqa: E402
__all__ += ['LinearWarmupLR', 'LinearWarmupParamScheduler']
