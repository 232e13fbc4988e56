# mmpretrain's resnet50_8xb32_in1k recipe with mmselfkd's runtime: the fair baseline of
# configs/frskd/resnet50_imagenet.py (same data, schedule, backbone and init).
# Launch: bash tools/dist_train.sh configs/baseline/resnet50_imagenet.py 8
_base_ = './resnet18_imagenet.py'

model = dict(backbone=dict(depth=50), head=dict(in_channels=2048))
