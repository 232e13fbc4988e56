# HSSAKD online with two WRN-40-2 peers (settings: ./_base_/online.py). The peers are
# the classifier of the fair baseline configs/baseline/wrn40-2_cifar100_hssakd.py.
_base_ = ['./_base_/online.py']

_net = dict(cfg_path='{{ fileDirname }}/../baseline/wrn40-2_cifar100_hssakd.py')
model = dict(student=_net, peer=_net)
