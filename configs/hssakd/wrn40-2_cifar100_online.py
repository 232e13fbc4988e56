# HSSAKD online (TNNLS 2022): two WRN-40-2 peers trained together on 4-rotation batches,
# each with CE + joint (class x rotation) CE on 3 auxiliary branches, plus mutual KL (T=3)
# of the final and auxiliary heads (winycg/HSAKD train_online_kd_cifar.py, spec 3.4).
# Deployed: `student` (peer A). Fair baseline: configs/baseline/wrn40-2_cifar100_hssakd.py.
_base_ = ['./_base_/cifar100_hssakd.py']

# official WRN init of the FC: PyTorch's default weight (Kaiming-uniform, a=sqrt(5)), bias 0
_net = dict(
    type='ImageClassifier',
    # the backbone applies the official He fan-out / BN(1, 0) init itself
    backbone=dict(type='mmselfkd.WideResNet', depth=40, widen_factor=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=dict(type='Kaiming', layer='Linear', a=2.23606797749979, mode='fan_in',
                      nonlinearity='leaky_relu', distribution='uniform', bias=0)))

model = dict(
    type='mmselfkd.HSSAKD',
    mode='online',
    student=_net,
    peer=_net,
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100),
    temperature=3.0,
    deploy='student',
    val_heads=('peer', ))

# accuracy/top1 = the deployed peer (main metric, best checkpoint); heads/peer_top1 = the
# other peer; heads/best_top1 = the official script's number (max over the two peers)
val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['peer']),
]
test_evaluator = val_evaluator
