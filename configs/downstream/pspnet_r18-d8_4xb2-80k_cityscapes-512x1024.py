# PSPNet ResNet-18-D8 on Cityscapes, 512x1024 crops, 4 GPUs x 2 images, 80k iterations:
# everything as pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py but the depth and the head
# widths of mmseg's ResNet-18 configs; the backbone comes from a self-distilled ImageNet
# ResNet-18 (e.g. configs/frskd/resnet18_imagenet.py). README.md, "From self-distillation to
# segmentation and detection".
_base_ = './pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py'

model = dict(
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
