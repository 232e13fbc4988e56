# Plain ResNet-18 with MixSKD's official ImageNet data, recipe and init: the fair baseline of
# configs/mixskd/resnet18_imagenet.py.
_base_ = './resnet50_imagenet_mixskd.py'

model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
