# DeepLabV3 ResNet-18-D8 on Pascal VOC 2012 + SBD aug, 512x512 crops, 4 GPUs x 4 images, 20k
# iterations: everything as deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py but the depth and
# the head widths of mmseg's ResNet-18 configs; the backbone comes from a self-distilled
# ImageNet ResNet-18 (e.g. configs/frskd/resnet18_imagenet.py). README.md, "From
# self-distillation to segmentation and detection".
_base_ = './deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'

model = dict(
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
