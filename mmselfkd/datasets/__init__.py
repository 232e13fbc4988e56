from .cifar import CIFAR100

__all__ = ['CIFAR100']
