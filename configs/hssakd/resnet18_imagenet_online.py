# HSSAKD online on ImageNet (winycg/HSAKD train_online_kd_imagenet.py): two ResNet-18
# peers on 4-rotation batches (256 images = 1024 rows per step), each with CE + joint CE on 4
# auxiliary branches, plus mutual KL (T=3) of the final and auxiliary heads; official ImageNet
# recipe (see the baseline twin). Deployed: `student` (peer A).
# Fair baseline: configs/baseline/resnet18_imagenet_hssakd.py (the peers equal its classifier).
# Launch on 8 GPUs (8 x 32 = 256):
#   bash tools/dist_train.sh configs/hssakd/resnet18_imagenet_online.py 8
_base_ = ['../baseline/resnet18_imagenet_hssakd.py']

_net = {{_base_.model}}
model = dict(
    _delete_=True,
    type='mmselfkd.HSSAKD',
    mode='online',
    student=_net,
    peer=_net,
    # the official ImageNet branches keep PyTorch's default init of their classifiers
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=1000, fc_init='default'),
    temperature=3.0,
    deploy='student',
    val_heads=('peer', ))

val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['peer']),
]
test_evaluator = val_evaluator
