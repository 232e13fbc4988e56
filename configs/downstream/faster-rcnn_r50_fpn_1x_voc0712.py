# Faster R-CNN ResNet-50-FPN on Pascal VOC 2007+2012 trainval (tested on VOC 2007 test),
# 1000x600, 8 GPUs x 2 images, 4 epochs over the 3x repeated set: mmdet's recipe
# (pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py; mmdet's ResNet has the keys of mmpretrain's
# ResNet) with the backbone exported from a self-distilled ImageNet ResNet-50 (e.g.
# configs/mixskd/resnet50_imagenet.py), passed as --cfg-options backbone_checkpoint=PATH. The
# whole pipeline: README.md, "From self-distillation to segmentation and detection".
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'

backbone_checkpoint = None  # the file of tools/export.py --part backbone
# replaces torchvision://resnet50; the base's frozen_stages=1 and norm_eval stay
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')))
