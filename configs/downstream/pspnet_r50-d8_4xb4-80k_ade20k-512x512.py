# PSPNet with a ResNet-50-D8 backbone on ADE20K, 512x512 crops, 4 GPUs x 4 images, 80k
# iterations: mmseg's standard recipe (pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py) with
# the 7x7 stem and keys of mmpretrain's ResNet instead of ResNetV1c. The backbone comes from a
# self-distilled ImageNet ResNet-50 (e.g. configs/mixskd/resnet50_imagenet.py), exported with
# tools/export.py and passed as `backbone_checkpoint`:
#
#   python tools/export.py work_dirs/resnet50_imagenet/epoch_305.pth backbone.pth \
#       --part backbone --check configs/downstream/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py
#   bash tools/dist_train.sh configs/downstream/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py 4 \
#       --cfg-options backbone_checkpoint=backbone.pth
_base_ = 'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'

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
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')))
