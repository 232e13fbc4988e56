from .hssakd_branches import HSSAKDBranches
from .stage_copies import build_stage, stage_out_channels

__all__ = ['build_stage', 'stage_out_channels', 'HSSAKDBranches']
