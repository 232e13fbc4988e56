# Plain CIFAR ResNet-18 with FRSKD's official data, recipe and backbone: the fair baseline
# of configs/frskd/resnet18_cifar100.py (same normalisation, schedule, batch, init).
_base_ = [
    '../_base_/models/resnet18_cifar.py', '../_base_/datasets/cifar100_bs128.py',
    '../_base_/schedules/cifar100_sgd_200e.py', '../_base_/default_runtime.py'
]

# FRSKD normalises CIFAR-100 with the CIFAR-10 statistics (official dataset.py).
data_preprocessor = dict(mean=[125.307, 122.961, 113.858], std=[51.587, 50.847, 51.255])
