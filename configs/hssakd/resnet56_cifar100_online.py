# HSSAKD online (TNNLS 2022): two ResNet-56 peers trained together on 4-rotation batches,
# each with CE + joint (class x rotation) CE on 3 auxiliary branches, plus mutual KL (T=3)
# of the final and auxiliary heads (winycg/HSAKD train_online_kd_cifar.py, spec 3.4).
# Deployed: `student` (peer A). Fair baseline: configs/baseline/resnet56_cifar100_hssakd.py.
# The peers are the baseline twin's classifier: the twin's data, recipe and init, exactly.
_base_ = ['../baseline/resnet56_cifar100_hssakd.py']

_net = {{_base_.model}}
model = dict(
    _delete_=True,
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
