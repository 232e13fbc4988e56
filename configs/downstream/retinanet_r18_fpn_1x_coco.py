# RetinaNet ResNet-18-FPN on COCO 2017, 1333x800, 8 GPUs x 2 images, 12 epochs: everything as
# retinanet_r50_fpn_1x_coco.py but the depth (FPN inputs of 64-512 channels); the backbone
# comes from a self-distilled ImageNet ResNet-18 (e.g. configs/frskd/resnet18_imagenet.py).
# README.md, "From self-distillation to segmentation and detection".
_base_ = './retinanet_r50_fpn_1x_coco.py'

model = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
