# HSAKD teacher pre-training, joint variant, of a VGG-13 (BN) (settings:
# ./_base_/teacher.py). The network is the classifier of the fair baseline
# configs/baseline/vgg13_cifar100_hssakd.py.
# Here: the official init of this network's branch classifiers.
_base_ = ['./_base_/teacher.py']

model = dict(
    student=dict(cfg_path='{{ fileDirname }}/../baseline/vgg13_cifar100_hssakd.py'),
    aux_branches=dict(fc_init='default'))
