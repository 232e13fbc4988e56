# Fair baseline of configs/frskd/deeplabv3_r50-d8_4xb2-80k_cityscapes-512x1024.py: mmseg's
# DeepLabV3 ResNet-50-D8 on Cityscapes, unchanged (ImageNet ResNetV1c-50 init, 512x1024 crops,
# 4 GPUs x 2 images, 80k iterations).
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb2-80k_cityscapes-512x1024.py'
