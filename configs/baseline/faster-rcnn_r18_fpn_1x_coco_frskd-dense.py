# Fair baseline of configs/frskd/faster-rcnn_r18_fpn_1x_coco.py: mmdet's Faster R-CNN 1x recipe
# on COCO 2017 (1333x800, 8 GPUs x 2 images, 12 epochs) with a torchvision ImageNet ResNet-18,
# set up as mmdet's retinanet_r18_fpn_1x_coco.py does (mmdet has no 1x Faster R-CNN R18).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
