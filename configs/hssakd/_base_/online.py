# HSSAKD online (Yang et al., TNNLS 2022) on CIFAR-100: two peers of the same network trained
# together on 4-rotation batches (every image at 0/90/180/270 degrees, one forward per peer
# over the 4B rows). Each peer: CE of the final head on the unrotated rows + joint
# (class x rotation) CE of every auxiliary branch; between the peers: KL (T = 3) of the final
# heads and of each pair of auxiliary heads over all rotated rows, every term with weight 1
# (winycg/HSAKD train_online_kd_cifar.py, lines 181-207). Recipe: ./cifar100_hssakd.py.
# A config names the network: model.student and model.peer, the classifier of its fair
# baseline (configs/baseline/*_hssakd.py). Deployed: `student` (peer A).
_base_ = ['./cifar100_hssakd.py']

model = dict(
    type='mmselfkd.HSSAKD',
    mode='online',
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
