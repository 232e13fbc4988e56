# HSSAKD online with two ResNet-56 peers (settings: ./_base_/online.py). The peers are
# the classifier of the fair baseline configs/baseline/resnet56_cifar100_hssakd.py.
_base_ = ['./_base_/online.py']

_net = dict(cfg_path='{{ fileDirname }}/../baseline/resnet56_cifar100_hssakd.py')
model = dict(student=_net, peer=_net)
