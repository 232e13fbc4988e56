# RetinaNet ResNet-18-FPN on Pascal VOC 2007+2012 trainval (tested on VOC 2007 test),
# 1000x600, 8 GPUs x 2 images, 4 epochs over the 3x repeated set: everything as
# retinanet_r50_fpn_1x_voc0712.py but the depth (FPN inputs of 64-512 channels); the backbone
# comes from a self-distilled ImageNet ResNet-18 (e.g. configs/frskd/resnet18_imagenet.py).
# README.md, "From self-distillation to segmentation and detection".
_base_ = './retinanet_r50_fpn_1x_voc0712.py'

model = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
