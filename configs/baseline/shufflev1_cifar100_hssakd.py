# Plain ShuffleNetV1 (groups 3) with HSSAKD's official data, recipe and network; lr 0.01 as the
# official scripts for MobileNetV2 and ShuffleNets (train_baseline_cifar.sh). The fair
# baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py']

model = dict(
    type='ImageClassifier',
    # PyTorch's default init, as the official network; all 3 stages feed HSSAKD's branches
    backbone=dict(type='mmselfkd.CIFARShuffleNetV1', out_indices=(0, 1, 2)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=960,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=None))
optim_wrapper = dict(optimizer=dict(lr=0.01))
