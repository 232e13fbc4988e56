# CIFAR ResNet-18 (3x3 stem, no max-pool, stages 64/128/256/512, strides 1/2/2/2), the
# network of the FRSKD and MixSKD CIFAR experiments. The official code uses PyTorch's
# default initialisation and no zero-init of the last BN of each block, so mmpretrain's
# Kaiming/zero-init defaults are switched off (init_cfg=None, zero_init_residual=False).
_base_ = ['./linear_classifier.py']

model = dict(
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        out_indices=(3, ),
        zero_init_residual=False,
        init_cfg=None),
    head=dict(in_channels=512))
