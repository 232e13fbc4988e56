# MixSKD (Yang et al., ECCV 2022) ResNet-50 on ImageNet with the official recipe
# (winycg/Self-KD-Lib scripts/main_mixskd_imagenet.sh). Everything but the self-distillation
# is the fair baseline configs/baseline/resnet50_imagenet_mixskd.py: 8 GPUs x 16 images
# (global batch 128, mixup pairs and BatchNorm statistics per GPU), SGD 0.1, momentum 0.9,
# weight decay 1e-4, no Nesterov, per-iteration warm-up 0.1*(1+j)/(5N) for 5 epochs then
# per-epoch cosine over 300 epochs (305 in all), RandomResizedCrop 224 + flip. Mixup alpha
# 0.2, T 3. As the official ImageNet script does, the mixup CE IS added
# (main_mixskd_imagenet.py, lines 266-272: the self-teacher trains) and the discriminators
# are fixed random networks.
# Launch: bash tools/dist_train.sh configs/mixskd/resnet50_imagenet.py 8
_base_ = '../baseline/resnet50_imagenet_mixskd.py'

model = dict(
    _delete_=True,
    type='mmselfkd.MixSKD',
    # the baseline's classifier (torchvision ResNet-50 v1.5), asked for every stage
    student=dict(_base_.model, backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3))),
    # concat of the 4 stage features (4 x 2048) -> 1x1 conv 2048 -> GAP -> FC 1000
    self_teacher=dict(type='mmselfkd.StageAggregator', out_channels=2048),
    mixup_alpha=0.2,
    temperature=3.0,
    mixup_cls_loss=True,  # official ImageNet script adds L_mixcls
    train_discriminators=False,  # official: random discriminators, never updated
    val_heads=True)

val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['stage1', 'stage2', 'stage3']),
]
test_evaluator = val_evaluator
