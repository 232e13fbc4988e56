# Fair baseline of configs/frskd/retinanet_r18_fpn_1x_coco.py: mmdet's RetinaNet ResNet-18-FPN
# on COCO 2017, unchanged (torchvision ImageNet init, 1333x800, 8 GPUs x 2 images, 12 epochs).
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
