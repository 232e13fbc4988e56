# HSAKD teacher pre-training, joint variant, of a ResNet-32x4 (settings:
# ./_base_/teacher.py). The network is the classifier of the fair baseline
# configs/baseline/resnet32x4_cifar100_hssakd.py.
_base_ = ['./_base_/teacher.py']

model = dict(student=dict(cfg_path='{{ fileDirname }}/../baseline/resnet32x4_cifar100_hssakd.py'))
