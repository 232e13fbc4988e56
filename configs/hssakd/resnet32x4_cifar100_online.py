# HSSAKD online with two ResNet-32x4 peers (settings: ./_base_/online.py). The peers are
# the classifier of the fair baseline configs/baseline/resnet32x4_cifar100_hssakd.py.
_base_ = ['./_base_/online.py']

_net = dict(cfg_path='{{ fileDirname }}/../baseline/resnet32x4_cifar100_hssakd.py')
model = dict(student=_net, peer=_net)
