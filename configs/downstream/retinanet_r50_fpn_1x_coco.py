# RetinaNet ResNet-50-FPN on COCO 2017, 1333x800, 8 GPUs x 2 images, 12 epochs: mmdet's recipe
# (retinanet/retinanet_r50_fpn_1x_coco.py; mmdet's ResNet has the keys of mmpretrain's ResNet)
# with the backbone exported from a self-distilled ImageNet ResNet-50 (e.g.
# configs/mixskd/resnet50_imagenet.py), passed as --cfg-options backbone_checkpoint=PATH. The
# whole pipeline: README.md, "From self-distillation to segmentation and detection".
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

backbone_checkpoint = None  # the file of tools/export.py --part backbone
# replaces torchvision://resnet50; the base's frozen_stages=1 and norm_eval stay
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')))
