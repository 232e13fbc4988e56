from .metrics import MultiHeadAccuracy

__all__ = ['MultiHeadAccuracy']
