# Plain ResNet-20 with HSSAKD's official data, recipe and network: everything as
# resnet56_cifar100_hssakd.py but the depth. The fair baseline of the configs/hssakd/ runs
# with this network.
_base_ = ['./resnet56_cifar100_hssakd.py']

model = dict(backbone=dict(depth=20))
