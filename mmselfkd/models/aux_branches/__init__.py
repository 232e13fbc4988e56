"""Training-only modules a method attaches to a network's stage maps: the auxiliary branches
of MixSKD and HSSAKD (fresh copies of the later stages), MixSKD's discriminators and FFSD's
fusion, trans-fusion and self-distillation modules. The self-teachers of FRSKD and MixSKD are
in :mod:`mmselfkd.models.self_teachers`."""
from .ffsd_modules import FFSDFusionModule, FFSDSelfDistiller, FFSDTransFusion
from .hssakd_branches import HSSAKDBranches
from .mixskd_branches import MixSKDBranch, build_discriminator
from .stage_copies import build_stage, run_blocks, stage_modules, stage_out_channels

__all__ = [
    'build_stage', 'run_blocks', 'stage_modules', 'stage_out_channels', 'HSSAKDBranches', 'MixSKDBranch',
    'build_discriminator', 'FFSDFusionModule', 'FFSDTransFusion', 'FFSDSelfDistiller'
]
