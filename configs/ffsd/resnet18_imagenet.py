# FFSD on ImageNet with ResNet-18 students and leader (official ImageNetTrainer.py: 4 hooked
# stages, Psi with 3 transposed convs 512->256->128->64, fusion on 2x512 channels, 90 epochs,
# lr x0.1 at 30/60/80, batch 256 on one machine, SGD-Nesterov 0.1, wd 1e-4 (fusion 1e-5),
# Adam 1e-3 (wd 1e-4) for the Psi modules; Kaiming fan-out init, no zero-init residual).
# Data: mmpretrain's ImageNet pipeline (RandomResizedCrop 224 + flip; short side 256 +
# center crop 224) and normalisation, as the official data/imagenet.py.
# Launch on 8 GPUs (8 x 32 = 256): bash tools/dist_train.sh configs/ffsd/resnet18_imagenet.py 8
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py', './_base_/ffsd_runtime.py']

model = dict(
    architecture=dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3),
                      zero_init_residual=False),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=512, topk=(1, 5),
                  init_cfg=None)))

val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['student1', 'student2', 'fusion']),
]
test_evaluator = val_evaluator

param_scheduler = dict(
    students=dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1),
    fusion=dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1),
    leader=dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1),
    self_distillers=dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1))
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
auto_scale_lr = dict(base_batch_size=256)
