# Plain DenseNet-40 (growth 12, FFSD's densenet_40) with FFSD's official data and SGD recipe:
# the fair baseline of configs/ffsd/densenet40_cifar100.py.
_base_ = ['./resnet32_cifar100_ffsd.py']

model = dict(
    backbone=dict(_delete_=True, type='mmselfkd.CIFARDenseNet', depth=40, growth_rate=12),
    head=dict(in_channels=456))
