# Plain CIFAR GoogLeNet (FFSD's googlenet) with FFSD's official data and SGD recipe: the fair
# baseline of configs/ffsd/googlenet_cifar100.py.
_base_ = ['./resnet32_cifar100_ffsd.py']

model = dict(
    backbone=dict(_delete_=True, type='mmselfkd.CIFARGoogLeNet'),
    head=dict(in_channels=1024))
