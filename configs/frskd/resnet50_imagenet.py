# FRSKD with an ImageNet-style ResNet-50 whose exported backbone loads into mmseg/mmdet
# ResNet-50 (configs/downstream/*_r50*). Same recipe as resnet18_imagenet.py (mmpretrain's
# resnet50_8xb32_in1k: SGD 0.1, momentum 0.9, wd 1e-4, 8 x 32, 100 epochs, steps at 30/60/90).
# Self-teacher width 1 (levels of 256/512/1024/2048 channels, as the FRSKD ResNet-50
# segmentation configs): the official default width 2 would give a 103 M-parameter
# self-teacher beside the 25.6 M ResNet-50; set model.self_teacher.width=2 to use it.
# Fair baseline: configs/baseline/resnet50_imagenet.py.
_base_ = './resnet18_imagenet.py'

model = dict(
    student=dict(backbone=dict(depth=50), head=dict(in_channels=2048)),
    self_teacher=dict(width=1))
