# HSSAKD online with two WRN-40-1 peers: everything as wrn40-2_cifar100_online.py but the
# width. Fair baseline: configs/baseline/wrn40-1_cifar100_hssakd.py (the peers equal its
# classifier; tests/test_hssakd.py checks it).
_base_ = ['./wrn40-2_cifar100_online.py']

_net = dict(backbone=dict(widen_factor=1), head=dict(in_channels=64))
model = dict(student=_net, peer=_net)
