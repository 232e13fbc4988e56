"""mmselfkd: teacher-free (self- and online) knowledge distillation for OpenMMLab 2.x."""
from .utils.version_check import check_versions
from .version import __version__

check_versions()

from .utils import apply_checkpoint_compat, register_all_modules  # noqa: E402
from .utils.package_configs import enable_package_config_paths  # noqa: E402

enable_package_config_paths()  # `_base_ = 'mmselfkd::frskd/resnet18_cifar100.py'`
from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'apply_checkpoint_compat', 'register_all_modules']
