# Faster R-CNN with a ResNet-18-FPN on Pascal VOC 2007+2012 trainval (tested on VOC 2007
# test), 1000x600, 8 GPUs x 2 images, 4 epochs over the 3x repeated set: mmdet's standard
# recipe (pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py); mmdet's ResNet has the keys of
# mmpretrain's ResNet. The backbone comes from a self-distilled ImageNet ResNet-18 (e.g.
# configs/frskd/resnet18_imagenet.py), exported with tools/export.py and passed as
# `backbone_checkpoint`:
#
#   python tools/export.py work_dirs/resnet18_imagenet/epoch_100.pth backbone.pth \
#       --part backbone --check configs/downstream/faster-rcnn_r18_fpn_1x_voc0712.py
#   bash tools/dist_train.sh configs/downstream/faster-rcnn_r18_fpn_1x_voc0712.py 8 \
#       --cfg-options backbone_checkpoint=backbone.pth
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'

# the exported backbone (tools/export.py --part backbone); set it with
# `--cfg-options backbone_checkpoint=PATH`
backbone_checkpoint = None

model = dict(
    backbone=dict(
        depth=18,
        # replaces torchvision://resnet50; the base's frozen_stages=1 and norm_eval stay
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
