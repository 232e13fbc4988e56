# Plain ResNet-56 with HSSAKD's official data, recipe and network (batch 64, SGD 0.05
# Nesterov, wd 5e-4, steps at 150/180/210 of 240, CIFAR-100 normalisation, official init):
# the fair baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py', '../_base_/models/linear_classifier.py']

# the backbone applies the official He fan-out / BN(1, 0) init itself; the FC keeps
# PyTorch's default init, as the official ResNets
model = dict(backbone=dict(type='mmselfkd.CIFARResNet', depth=56), head=dict(in_channels=64))
