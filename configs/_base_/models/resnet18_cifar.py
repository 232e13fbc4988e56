# CIFAR ResNet-18 (3x3 stem, no max-pool, stages 64/128/256/512, strides 1/2/2/2), the
# network of the FRSKD and MixSKD CIFAR experiments. The official code uses PyTorch's
# default initialisation and no zero-init of the last BN of each block, so mmpretrain's
# Kaiming/zero-init defaults are switched off (init_cfg=None, zero_init_residual=False).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        out_indices=(3, ),
        zero_init_residual=False,
        init_cfg=None),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=None))
