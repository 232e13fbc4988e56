# FRSKD for segmentation with DeepLabV3 ResNet-18-D8 on Pascal VOC 2012 + SBD aug: everything
# as deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py but the student and the self-teacher width.
# The student is the model of the fair baseline
# configs/baseline/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512_frskd-dense.py, mmseg's
# ResNet-18-D8 (ImageNet ResNetV1c-18 init, the head widths of mmseg's R18 configs); the
# self-teacher has the official width 2.
_base_ = './deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'

model = dict(
    student=dict(
        pretrained='open-mmlab://resnet18_v1c',
        backbone=dict(depth=18),
        decode_head=dict(in_channels=512, channels=128),
        auxiliary_head=dict(in_channels=256, channels=64)),
    self_teacher=dict(width=2))
