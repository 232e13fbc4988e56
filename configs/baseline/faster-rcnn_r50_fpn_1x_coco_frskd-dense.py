# Fair baseline of configs/frskd/faster-rcnn_r50_fpn_1x_coco.py: mmdet's Faster R-CNN
# ResNet-50-FPN on COCO 2017, unchanged (torchvision ImageNet init, 1333x800, 8 GPUs x 2
# images, 12 epochs).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
