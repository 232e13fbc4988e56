from .base import BaseSelfKDAlgorithm, build_host_model, build_module
from .ffsd import FFSD
from .frskd import FRSKD
from .hssakd import HSSAKD
from .mixskd import MixSKD

__all__ = [
    'BaseSelfKDAlgorithm', 'build_host_model', 'build_module', 'FRSKD', 'MixSKD', 'HSSAKD',
    'FFSD'
]
