# DeepLabV3 ResNet-50-D8 on Pascal VOC 2012 + SBD aug, 512x512 crops, 4 GPUs x 4 images, 20k
# iterations: mmseg's recipe (deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py) with
# the backbone exported from a self-distilled ImageNet ResNet-50 (e.g.
# configs/mixskd/resnet50_imagenet.py), passed as --cfg-options backbone_checkpoint=PATH. The
# whole pipeline: README.md, "From self-distillation to segmentation and detection".
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'

backbone_checkpoint = None  # the file of tools/export.py --part backbone
# mmpretrain's ResNet (7x7 stem: the keys of the export; the d8 strides and dilations stay)
# instead of the base's ResNetV1c; init_cfg replaces `pretrained` (mmseg refuses both)
model = dict(pretrained=None, backbone=dict(type='ResNet', init_cfg=dict(
    type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')))
