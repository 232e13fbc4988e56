from .base import BaseSelfKDAlgorithm, build_host_model, build_module

__all__ = ['BaseSelfKDAlgorithm', 'build_host_model', 'build_module']
