from .multi_optim_constructor import OPTIM_WRAPPER_CONSTRUCTORS, MultiOptimWrapperConstructor

__all__ = ['OPTIM_WRAPPER_CONSTRUCTORS', 'MultiOptimWrapperConstructor']
