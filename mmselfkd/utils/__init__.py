from .compat import apply_checkpoint_compat, load_local_checkpoint
from .setup_env import register_all_modules

__all__ = ['apply_checkpoint_compat', 'load_local_checkpoint', 'register_all_modules']
