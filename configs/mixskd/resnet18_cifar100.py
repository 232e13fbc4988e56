# MixSKD (Yang et al., ECCV 2022) on CIFAR-100 with the official recipe. Everything but the
# self-distillation is the fair baseline configs/baseline/resnet18_cifar100_mixskd.py (data,
# normalisation, batch 64, SGD 0.1 Nesterov, weight decay 5e-4, per-iteration warm-up
# 0.1*(1+j)/(5N) for 5 epochs, then x0.1 at epochs 105 and 155 of 205, seed 0; the CIFAR
# ResNet-18 without a ReLU after the stem). Mixup alpha 0.4, T 3 (winycg/Self-KD-Lib
# main_mixskd_cifar.py defaults). As that script does, the mixup CE is computed but not added
# to the loss (lines 177-201), so the self-teacher never trains, and the discriminators are
# fixed random networks (methods/adversarial.py, lines 20-25).
_base_ = '../baseline/resnet18_cifar100_mixskd.py'

model = dict(
    _delete_=True,
    type='mmselfkd.MixSKD',
    # the baseline's classifier, asked for every stage (the auxiliary branches' inputs); its
    # head still classifies the last one
    student=dict(_base_.model, backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3))),
    # concat of the 4 stage features (4 x 512) -> 1x1 conv 512 -> GAP -> FC 100
    self_teacher=dict(type='mmselfkd.StageAggregator', out_channels=512),
    mixup_alpha=0.4,
    temperature=3.0,
    mixup_cls_loss=False,  # official CIFAR script: L_mixcls logged, not trained
    train_discriminators=False,  # official: random discriminators, never updated
    val_heads=True)

# accuracy/top1 = the deployed classifier (main metric, best checkpoint); heads/best_top1 =
# the official script's number (best of the 4 stage classifiers)
val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['stage1', 'stage2', 'stage3']),
]
test_evaluator = val_evaluator
