# FRSKD for detection with Faster R-CNN ResNet-18-FPN on COCO 2017: everything as
# faster-rcnn_r50_fpn_1x_coco.py but the student, the model of the fair baseline
# configs/baseline/faster-rcnn_r18_fpn_1x_coco_frskd-dense.py (torchvision's ImageNet
# ResNet-18, FPN inputs of 64-512 channels, as mmdet's retinanet_r18_fpn_1x_coco.py).
_base_ = './faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    student=dict(
        backbone=dict(
            depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
        neck=dict(in_channels=[64, 128, 256, 512])))
