# Plain CIFAR ResNet-56 with FFSD's official data and SGD recipe: the fair baseline of
# configs/ffsd/resnet56_cifar100.py (everything as resnet32_cifar100_ffsd.py but the depth).
_base_ = ['./resnet32_cifar100_ffsd.py']

model = dict(backbone=dict(depth=56))
