# Plain ResNet-8x4 with HSSAKD's official data, recipe and network (batch 64, SGD 0.05
# Nesterov, wd 5e-4, steps at 150/180/210 of 240, CIFAR-100 normalisation, official init):
# the fair baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py']

# official ResNet init of the FC: PyTorch's default
model = dict(
    type='ImageClassifier',
    # the backbone applies the official He fan-out / BN(1, 0) init itself
    backbone=dict(
        type='mmselfkd.CIFARResNet', depth=8, stem_channels=32,
        stage_channels=(64, 128, 256)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=None))
