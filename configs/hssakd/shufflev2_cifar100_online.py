# HSSAKD online (TNNLS 2022): two ShuffleNetV2 peers trained together on 4-rotation
# batches, each with CE + joint (class x rotation) CE on 3 auxiliary branches, plus mutual KL
# (T=3) of the final and auxiliary heads (winycg/HSAKD train_online_kd_cifar.py, spec 3.4;
# lr 0.01 as train_online_kd_cifar.sh). Deployed: `student` (peer A).
# Fair baseline: configs/baseline/shufflev2_cifar100_hssakd.py (the peers equal its classifier).
_base_ = ['../baseline/shufflev2_cifar100_hssakd.py']

_net = {{_base_.model}}
model = dict(
    _delete_=True,
    type='mmselfkd.HSSAKD',
    mode='online',
    student=_net,
    peer=_net,
    # the official branch classifiers' init of this network
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100, fc_init='default'),
    temperature=3.0,
    deploy='student',
    val_heads=('peer', ))

val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['peer']),
]
test_evaluator = val_evaluator
