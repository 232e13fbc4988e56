# Plain VGG-13 (BN) with HSSAKD's official data, recipe and network (batch 64, SGD 0.05
# Nesterov, wd 5e-4, steps at 150/180/210 of 240, CIFAR-100 normalisation, official init):
# the fair baseline of configs/hssakd/vgg13_cifar100_online.py.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py', '../_base_/models/linear_classifier.py']

model = dict(
    # the backbone applies the official init itself; all 4 stages feed HSSAKD's branches
    backbone=dict(type='mmselfkd.CIFARVGG', depth=13, out_indices=(0, 1, 2, 3)),
    # official classifier init N(0, 0.01), bias 0 (LinearClsHead's default)
    head=dict(
        in_channels=512, init_cfg=dict(_delete_=True, type='Normal', layer='Linear', std=0.01)))
