# Fair baseline of configs/frskd/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py: mmseg's
# DeepLabV3 ResNet-50-D8 on Pascal VOC 2012 + SBD aug, unchanged (ImageNet ResNetV1c-50 init,
# 512x512 crops, 4 GPUs x 4 images, 20k iterations).
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'
