# HSSAKD online with two ShuffleNetV1 peers (settings: ./_base_/online.py). The peers are
# the classifier of the fair baseline configs/baseline/shufflev1_cifar100_hssakd.py.
# Here: the official init of this network's branch classifiers; lr 0.01 as
# train_online_kd_cifar.sh for this network.
_base_ = ['./_base_/online.py']

_net = dict(cfg_path='{{ fileDirname }}/../baseline/shufflev1_cifar100_hssakd.py')
model = dict(student=_net, peer=_net, aux_branches=dict(fc_init='zero_bias'))
optim_wrapper = dict(optimizer=dict(lr=0.01))
