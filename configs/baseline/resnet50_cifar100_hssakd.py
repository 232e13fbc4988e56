# Plain CIFAR ResNet-50 (RepDistiller's ResNet50: 3x3 stem at stride 1, bottlenecks, the
# teacher of HSAKD's ResNet-50 -> MobileNetV2 pair) with HSSAKD's official data, recipe and
# network: mmpretrain's ResNet_CIFAR is that network (equal outputs with equal weights), with
# its Kaiming fan-out / BN(1, 0) init, no zero-init residual and PyTorch's default FC init, as
# official. The fair baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py', '../_base_/models/linear_classifier.py']

model = dict(
    # all 4 stages feed HSSAKD's branches
    backbone=dict(type='ResNet_CIFAR', depth=50, out_indices=(0, 1, 2, 3),
                  zero_init_residual=False),
    head=dict(in_channels=2048))
