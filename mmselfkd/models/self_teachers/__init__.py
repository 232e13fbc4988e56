"""The self-teacher networks: FRSKD's BiFPN and MixSKD's stage aggregator. Other
training-only modules are in :mod:`mmselfkd.models.aux_branches`."""
from .bifpn import BiFPNSelfTeacher, SelfTeacherClassifier
from .stage_aggregator import StageAggregator

__all__ = ['BiFPNSelfTeacher', 'SelfTeacherClassifier', 'StageAggregator']
