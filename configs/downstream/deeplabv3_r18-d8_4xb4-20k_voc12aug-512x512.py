# DeepLabV3 with a ResNet-18-D8 backbone on Pascal VOC 2012 + SBD aug, 512x512 crops, 4 GPUs x
# 4 images, 20k iterations: mmseg's standard recipe
# (deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py) with the 7x7 stem and keys of
# mmpretrain's ResNet instead of ResNetV1c, and the head widths of mmseg's ResNet-18 configs.
# The backbone comes from a self-distilled ImageNet ResNet-18 (e.g.
# configs/frskd/resnet18_imagenet.py), exported with tools/export.py and passed as
# `backbone_checkpoint`:
#
#   python tools/export.py work_dirs/resnet18_imagenet/epoch_100.pth backbone.pth \
#       --part backbone --check configs/downstream/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512.py
#   bash tools/dist_train.sh configs/downstream/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512.py 4 \
#       --cfg-options backbone_checkpoint=backbone.pth
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'

# the exported backbone (tools/export.py --part backbone); set it with
# `--cfg-options backbone_checkpoint=PATH`
backbone_checkpoint = None

model = dict(
    # the base loads open-mmlab://resnet50_v1c; mmseg refuses both pretrained and init_cfg
    pretrained=None,
    backbone=dict(
        # mmseg's ResNet (V1b) has the keys of mmpretrain's ResNet; the base's ResNetV1c
        # (deep stem) would leave the stem random. The d8 strides and dilations stay.
        type='ResNet',
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
