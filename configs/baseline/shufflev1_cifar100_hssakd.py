# Plain ShuffleNetV1 (groups 3) with HSSAKD's official data, recipe and network; lr 0.01 as the
# official scripts for MobileNetV2 and ShuffleNets (train_baseline_cifar.sh). The fair
# baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py', '../_base_/models/linear_classifier.py']

model = dict(
    # PyTorch's default init, as the official network; all 3 stages feed HSSAKD's branches
    backbone=dict(type='mmselfkd.CIFARShuffleNetV1', out_indices=(0, 1, 2)),
    head=dict(in_channels=960))
optim_wrapper = dict(optimizer=dict(lr=0.01))
