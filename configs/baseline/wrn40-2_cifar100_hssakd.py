# Plain WRN-40-2 with HSSAKD's official data, recipe and network (batch 64, SGD 0.05
# Nesterov, wd 5e-4, steps at 150/180/210 of 240, CIFAR-100 normalisation, official init):
# the fair baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py']

# official WRN init of the FC: PyTorch's default weight (Kaiming-uniform, a=sqrt(5)), bias 0
model = dict(
    type='ImageClassifier',
    # the backbone applies the official He fan-out / BN(1, 0) init itself
    backbone=dict(type='mmselfkd.WideResNet', depth=40, widen_factor=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=dict(type='Kaiming', layer='Linear', a=2.23606797749979, mode='fan_in',
                      nonlinearity='leaky_relu', distribution='uniform', bias=0)))
