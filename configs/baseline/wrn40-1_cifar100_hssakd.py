# Plain WRN-40-1 with HSSAKD's official data, recipe and network: everything as
# wrn40-2_cifar100_hssakd.py but the width. The fair baseline of the configs/hssakd/ runs
# with this network.
_base_ = ['./wrn40-2_cifar100_hssakd.py']

model = dict(backbone=dict(widen_factor=1), head=dict(in_channels=64))
