# FFSD's method settings shared by every dataset (SJLeo/FFSD CIFARTrainer.py and
# ImageNetTrainer.py; the loss weights are the options/options.py defaults, lines 46-50):
# loss weights, separate optimizers, lambda warm-up, per-network DDP. Dataset configs add the
# data, evaluators and schedule.
_base_ = ['../../_base_/default_runtime.py']

model = dict(
    type='mmselfkd.FFSD',
    num_students=2,
    temperature=2.0,
    lambda_div=1e-5,
    lambda_fusion=10.0,
    lambda_sd=1000.0,
    # also score the two students and the fusion module (the official log reports them)
    val_heads=('student1', 'student2', 'fusion'))

# Separate optimizers as in the official code. One SGD over both students equals the
# official one SGD per student (each student's loss only reaches its own parameters).
# `--amp` sets type='AmpOptimWrapper' in every wrapper (tools/train.py). fused=True: the same
# SGD and Adam updates in one pass over the weights (PyTorch's fused kernels).
optim_wrapper = dict(
    constructor='mmselfkd.MultiOptimWrapperConstructor',
    students=dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True,
                       fused=True)),
    fusion=dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-5, nesterov=True,
                       fused=True)),
    # the trans-fusion module belongs to the official leader network and its optimizer
    leader=dict(
        modules=['leader', 'trans_fusion'],
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True,
                       fused=True)),
    # official: optim.Adam(params, weight_decay=1e-4) with the default lr 1e-3
    self_distillers=dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4, fused=True)))
val_cfg = dict()
test_cfg = dict()

custom_hooks = [
    dict(type='mmselfkd.ExportDeployableHook'),
    # lambda * exp(-5 (1 - e/5)^2) for the epochs e = 1..5 of lambda_div/fusion/sd
    dict(type='mmselfkd.LossWeightWarmupHook', warmup_epochs=5),
]
# each network is wrapped in its own DDP and called through its own forward, so every
# optimizer's gradients are all-reduced
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=False)
