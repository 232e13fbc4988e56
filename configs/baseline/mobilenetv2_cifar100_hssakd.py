# Plain MobileNetV2 (expansion 6, width 0.5) with HSSAKD's official data, recipe and network;
# lr 0.01 as the official scripts for MobileNetV2 and ShuffleNets (train_baseline_cifar.sh).
# The fair baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py']

model = dict(
    type='ImageClassifier',
    # the backbone applies the official init itself; all 4 stages feed HSSAKD's branches
    backbone=dict(type='mmselfkd.CIFARMobileNetV2', expand_ratio=6, widen_factor=0.5,
                  out_indices=(0, 1, 2, 3)),
    neck=dict(type='GlobalAveragePooling'),
    # official classifier init N(0, 0.01), bias 0: LinearClsHead's default init_cfg
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=1280,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
optim_wrapper = dict(optimizer=dict(lr=0.01))
