from .cifar import CIFAR100, DatasetNotFoundError

__all__ = ['CIFAR100', 'DatasetNotFoundError']
