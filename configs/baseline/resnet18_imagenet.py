# mmpretrain's resnet18_8xb32_in1k recipe (SGD 0.1, momentum 0.9, wd 1e-4, 8 GPUs x 32,
# 100 epochs, steps at 30/60/90, mmpretrain's ResNet init) with mmselfkd's runtime: the fair
# baseline of configs/frskd/resnet18_imagenet.py (same data, schedule, backbone and init).
# Launch: bash tools/dist_train.sh configs/baseline/resnet18_imagenet.py 8
_base_ = [
    'mmpretrain::_base_/models/resnet18.py', 'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py', '../_base_/default_runtime.py'
]

# epoch_N_backbone.pth beside every checkpoint, for configs/downstream
custom_hooks = [dict(type='mmselfkd.ExportDeployableHook', parts=('model', 'backbone'))]
