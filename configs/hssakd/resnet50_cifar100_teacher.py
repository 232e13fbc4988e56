# HSAKD teacher pre-training, joint variant, of a ResNet-50 (CIFAR) (settings:
# ./_base_/teacher.py). The network is the classifier of the fair baseline
# configs/baseline/resnet50_cifar100_hssakd.py.
# Here: the official init of this network's branch classifiers.
_base_ = ['./_base_/teacher.py']

model = dict(
    student=dict(cfg_path='{{ fileDirname }}/../baseline/resnet50_cifar100_hssakd.py'),
    aux_branches=dict(fc_init='default'))
