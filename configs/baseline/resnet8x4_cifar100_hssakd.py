# Plain ResNet-8x4 with HSSAKD's official data, recipe and network: everything as
# resnet32x4_cifar100_hssakd.py but the depth. The fair baseline of the configs/hssakd/ runs
# with this network.
_base_ = ['./resnet32x4_cifar100_hssakd.py']

model = dict(backbone=dict(depth=8))
