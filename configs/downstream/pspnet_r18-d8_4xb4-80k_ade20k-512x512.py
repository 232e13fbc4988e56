# PSPNet ResNet-18-D8 on ADE20K, 512x512 crops, 4 GPUs x 4 images, 80k iterations: everything
# as pspnet_r50-d8_4xb4-80k_ade20k-512x512.py but the depth and the head widths of mmseg's
# ResNet-18 configs; the backbone comes from a self-distilled ImageNet ResNet-18 (e.g.
# configs/frskd/resnet18_imagenet.py). README.md, "From self-distillation to segmentation and
# detection".
_base_ = './pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'

model = dict(
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
