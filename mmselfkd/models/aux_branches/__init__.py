from .stage_copies import build_stage, stage_out_channels
from .hssakd_branches import HSSAKDBranches

__all__ = ['build_stage', 'stage_out_channels']
__all__ += ['HSSAKDBranches']
