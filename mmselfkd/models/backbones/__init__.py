from .cifar_resnet import CIFARResNet
from .wide_resnet import WideResNet

__all__ = ['CIFARResNet', 'WideResNet']
from .resnet_cifar import ResNet_CIFAR  # noqa: E402
__all__ += ['ResNet_CIFAR']
