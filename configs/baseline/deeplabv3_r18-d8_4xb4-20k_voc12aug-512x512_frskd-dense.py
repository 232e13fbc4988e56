# Fair baseline of configs/frskd/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512.py: mmseg's
# DeepLabV3 recipe on Pascal VOC 2012 + SBD aug (512x512 crops, 4 GPUs x 4 images, 20k
# iterations, SGD 0.01, poly) with the ResNet-18-D8 settings of mmseg's own R18 configs
# (deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py: ImageNet ResNetV1c-18 init, head widths);
# mmseg has no R18 VOC config of its own.
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'

model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
