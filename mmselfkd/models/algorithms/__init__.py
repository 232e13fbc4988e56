from .base import BaseSelfKDAlgorithm, build_host_model, build_module

__all__ = ['BaseSelfKDAlgorithm', 'build_host_model', 'build_module']
from .frskd import FRSKD  # noqa: E402
__all__ += ['FRSKD']
from .mixskd import MixSKD  # noqa: E402
__all__ += ['MixSKD']
from .hssakd import HSSAKD  # noqa: E402
__all__ += ['HSSAKD']
from .ffsd import FFSD  # noqa: E402
__all__ += ['FFSD']
