# Plain WRN-40-2 with FFSD's network, data and SGD recipe: the fair baseline of
# configs/ffsd/wrn40-2_cifar100.py (everything as wrn16-2_cifar100_ffsd.py but the depth).
_base_ = ['./wrn16-2_cifar100_ffsd.py']

model = dict(backbone=dict(depth=40))
