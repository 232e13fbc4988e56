from .bifpn import BiFPNSelfTeacher, SelfTeacherClassifier
from .ffsd_modules import FFSDFusionModule, FFSDSelfDistiller, FFSDTransFusion
from .stage_aggregator import StageAggregator

__all__ = [
    'BiFPNSelfTeacher', 'SelfTeacherClassifier', 'StageAggregator', 'FFSDFusionModule',
    'FFSDTransFusion', 'FFSDSelfDistiller'
]
