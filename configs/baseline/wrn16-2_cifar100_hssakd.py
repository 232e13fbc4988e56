# Plain WRN-16-2 with HSSAKD's official data, recipe and network: everything as
# wrn40-2_cifar100_hssakd.py but the depth. The fair baseline of the configs/hssakd/ runs
# with this network.
_base_ = ['./wrn40-2_cifar100_hssakd.py']

model = dict(backbone=dict(depth=16))
