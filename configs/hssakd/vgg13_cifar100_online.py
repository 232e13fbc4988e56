# HSSAKD online with two VGG-13 (BN) peers (settings: ./_base_/online.py). The peers are
# the classifier of the fair baseline configs/baseline/vgg13_cifar100_hssakd.py.
# Here: the official init of this network's branch classifiers.
_base_ = ['./_base_/online.py']

_net = dict(cfg_path='{{ fileDirname }}/../baseline/vgg13_cifar100_hssakd.py')
model = dict(student=_net, peer=_net, aux_branches=dict(fc_init='default'))
