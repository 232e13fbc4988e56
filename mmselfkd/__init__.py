"""mmselfkd: teacher-free (self- and online) knowledge distillation for OpenMMLab 2.x."""
from .utils.version_check import check_versions
from .version import __version__

check_versions()

from .utils import apply_checkpoint_compat, register_all_modules  # noqa: E402
from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'apply_checkpoint_compat', 'register_all_modules']
