# FFSD with WRN-40-2 students and leader: everything as wrn16-2_cifar100.py (the official
# Wide_ResNet, official recipe) but the depth.
# Fair baseline: configs/baseline/wrn40-2_cifar100_ffsd.py.
_base_ = ['./wrn16-2_cifar100.py']

model = dict(architecture=dict(backbone=dict(depth=40)))
