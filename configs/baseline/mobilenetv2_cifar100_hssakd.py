# Plain MobileNetV2 (expansion 6, width 0.5) with HSSAKD's official data, recipe and network;
# lr 0.01 as the official scripts for MobileNetV2 and ShuffleNets (train_baseline_cifar.sh).
# The fair baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py', '../_base_/models/linear_classifier.py']

model = dict(
    # the backbone applies the official init itself; all 4 stages feed HSSAKD's branches
    backbone=dict(type='mmselfkd.CIFARMobileNetV2', expand_ratio=6, widen_factor=0.5,
                  out_indices=(0, 1, 2, 3)),
    # official classifier init N(0, 0.01), bias 0 (LinearClsHead's default)
    head=dict(
        in_channels=1280, init_cfg=dict(_delete_=True, type='Normal', layer='Linear', std=0.01)))
optim_wrapper = dict(optimizer=dict(lr=0.01))
