# MixSKD with an ImageNet-style ResNet-18 (backbone transferable to mmseg/mmdet ResNet-18):
# the official ImageNet recipe of resnet50_imagenet.py (8 x 16, SGD 0.1, wd 1e-4, 5-epoch
# warm-up + cosine over 300 epochs, mixup alpha 0.2, T 3, mixup CE added, fixed random
# discriminators) with ResNet-18: self-teacher 4 x 512 -> 1x1 conv 512 -> GAP -> FC.
# Fair baseline: configs/baseline/resnet18_imagenet_mixskd.py.
_base_ = './resnet50_imagenet.py'

model = dict(
    student=dict(backbone=dict(depth=18), head=dict(in_channels=512)),
    self_teacher=dict(out_channels=512))
