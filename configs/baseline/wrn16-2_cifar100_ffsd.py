# Plain WRN-16-2 (FFSD's Wide_ResNet: kuangliu-style blocks, conv bias, final BN momentum
# 0.9) with FFSD's official data and SGD recipe: the fair baseline of
# configs/ffsd/wrn16-2_cifar100.py.
_base_ = ['./resnet32_cifar100_ffsd.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmselfkd.WideResNet',
        depth=16,
        widen_factor=2,
        block_style='kuangliu',
        conv_bias=True,
        final_norm_momentum=0.9),
    head=dict(in_channels=128))
