# Plain ShuffleNetV2 (net size 1) with HSSAKD's official data, recipe and network; everything
# as shufflev1_cifar100_hssakd.py (lr 0.01, PyTorch's default init) but the network. The fair
# baseline of the configs/hssakd/ runs with this network.
_base_ = ['./shufflev1_cifar100_hssakd.py']

model = dict(
    backbone=dict(_delete_=True, type='mmselfkd.CIFARShuffleNetV2', out_indices=(0, 1, 2)),
    head=dict(in_channels=1024))
