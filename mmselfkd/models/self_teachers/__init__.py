from .ffsd_modules import FFSDFusionModule, FFSDSelfDistiller, FFSDTransFusion

__all__ = ['FFSDFusionModule', 'FFSDTransFusion', 'FFSDSelfDistiller']
from .bifpn import BiFPNSelfTeacher, SelfTeacherClassifier  # noqa: E402
__all__ += ['BiFPNSelfTeacher', 'SelfTeacherClassifier']
from .stage_aggregator import StageAggregator  # noqa: E402
__all__ += ['StageAggregator']
