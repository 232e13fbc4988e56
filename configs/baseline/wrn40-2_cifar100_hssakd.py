# Plain WRN-40-2 with HSSAKD's official data, recipe and network (batch 64, SGD 0.05
# Nesterov, wd 5e-4, steps at 150/180/210 of 240, CIFAR-100 normalisation, official init):
# the fair baseline of the configs/hssakd/ runs with this network.
_base_ = ['../hssakd/_base_/cifar100_hssakd.py', '../_base_/models/linear_classifier.py']

model = dict(
    # the backbone applies the official He fan-out / BN(1, 0) init itself
    backbone=dict(type='mmselfkd.WideResNet', depth=40, widen_factor=2),
    # official WRN init of the FC: PyTorch's default weight (Kaiming-uniform, a=sqrt(5)),
    # bias 0
    head=dict(
        in_channels=128,
        init_cfg=dict(_delete_=True, type='Kaiming', layer='Linear', a=2.23606797749979,
                      mode='fan_in', nonlinearity='leaky_relu', distribution='uniform', bias=0)))
