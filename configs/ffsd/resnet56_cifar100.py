# FFSD with CIFAR ResNet-56 students and leader (16/32/64 channels), official recipe:
# batch 128, 299 epochs, SGD-Nesterov 0.1 (fusion wd 1e-5), Adam for the Psi modules.
_base_ = ['./_base_/ffsd_cifar100.py']

model = dict(
    architecture=dict(
        type='ImageClassifier',
        # layer1/layer2/layer3 outputs: the official feature hooks
        backbone=dict(type='mmselfkd.CIFARResNet', depth=56, out_indices=(0, 1, 2)),
        neck=dict(type='GlobalAveragePooling'),
        # PyTorch default init of the classifier, as in the official code
        head=dict(type='LinearClsHead', num_classes=100, in_channels=64, init_cfg=None)))
