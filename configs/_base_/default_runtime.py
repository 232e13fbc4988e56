_base_ = 'mmpretrain::_base_/default_runtime.py'  # default_scope = 'mmpretrain'

# Imports mmselfkd (registration, version checks, the checkpoint-loading fix).
custom_imports = dict(imports=['mmselfkd'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    # the official scripts report the best test epoch; keep it and the last 2 epochs
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'))

# Write epoch_N_deploy.pth (the deployable network, a plain checkpoint) beside every saved
# and best checkpoint.
custom_hooks = [dict(type='mmselfkd.ExportDeployableHook')]
