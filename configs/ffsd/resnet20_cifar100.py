# FFSD with CIFAR ResNet-20 students and leader (16/32/64 channels): everything as
# resnet32_cifar100.py but the depth. Fair baseline: configs/baseline/resnet20_cifar100_ffsd.py.
_base_ = ['./resnet32_cifar100.py']

model = dict(architecture=dict(backbone=dict(depth=20)))
