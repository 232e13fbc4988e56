"""``mmselfkd::`` config paths: ``_base_ = 'mmselfkd::frskd/resnet18_cifar100.py'``.

MMEngine 0.10.7 resolves ``pkg::path`` bases in ``Config._get_cfg_path``
(``mmengine/config/config.py``), and that fails for mmselfkd for three reasons:

1. ``_get_package_and_cfg_path`` (``mmengine/config/utils.py``) asserts that the package is
   in its fixed ``MODULE2PACKAGE`` table (alias ``PKG2PROJECT``) of OpenMMLab projects:
   ``AssertionError: mmengine does not support to load mmselfkd config``.
2. It then looks for ``<package>/.mim/model-index.yml`` and ``<package>/.mim/configs/<path>``
   under ``get_installed_path(package)``. That is ``<dist location>/<package>``, which for an
   editable install (``pip install -e .``, PEP 660) is a ``site-packages/mmselfkd`` that does
   not exist, and a non-editable install has a ``.mim`` folder only if the wheel ships one
   (``setup.py`` copies ``configs/``, ``tools/`` and ``model-index.yml`` into it).
3. It tags every dict with a ``type`` in the inherited config with ``_scope_='mmselfkd'``.
   That is right for OpenMMLab projects, whose configs build in their own scope, and wrong for
   mmselfkd configs, which are mmpretrain/mmseg/mmdet configs (``default_scope`` is the host)
   that name only mmselfkd's own classes with the ``mmselfkd.`` prefix: under the mmselfkd
   scope, ``CIFAR100``, ``ImageClassifier`` or ``LoggerHook`` would be looked up in
   mmselfkd's registries.

MMEngine has no hook for a third-party package here, so importing :mod:`mmselfkd` (which every
mmselfkd tool does before it reads a config, and ``mim train mmselfkd`` runs those tools)
wraps ``Config._get_cfg_path`` for the ``mmselfkd::`` prefix only: the path is looked up in
:func:`config_root` and the base keeps the scope of the config that inherits it, as a relative
``_base_`` path would. Other packages' ``pkg::`` paths go to MMEngine unchanged. A script that
calls ``Config.fromfile`` on such a config itself must ``import mmselfkd`` first.
"""
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

PREFIX = 'mmselfkd::'
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def config_root() -> str:
    """The folder of mmselfkd's configs.

    ``<package>/.mim/configs`` of an installed wheel, else the ``configs/`` folder of the
    source checkout the package is imported from (an editable install or ``PYTHONPATH``).
    """
    for root in (osp.join(PACKAGE_DIR, '.mim', 'configs'),
                 osp.join(osp.dirname(PACKAGE_DIR), 'configs')):
        if osp.isdir(root):
            return root
    raise FileNotFoundError(
        f'mmselfkd at {PACKAGE_DIR} ships no configs (no .mim/configs inside it and no configs/ '
        'beside it): reinstall it from a source checkout with `pip install .`')


def resolve_config_path(path: str) -> str:
    """The file of an ``mmselfkd::<folder>/<name>.py`` path.

    Args:
        path (str): e.g. ``'mmselfkd::frskd/resnet18_cifar100.py'``.
    """
    relative = path[len(PREFIX):]
    resolved = osp.join(config_root(), relative)
    if not osp.isfile(resolved):
        raise FileNotFoundError(f'{path}: no config {relative} in {config_root()}')
    return resolved


def _get_cfg_path(cfg_path: str, filename: str,
                  _mmengine_get_cfg_path=Config._get_cfg_path) -> Tuple[str, Optional[str]]:
    """``Config._get_cfg_path`` that resolves ``mmselfkd::`` bases without a scope."""
    if cfg_path.startswith(PREFIX):
        return resolve_config_path(cfg_path), None
    return _mmengine_get_cfg_path(cfg_path, filename)


def enable_package_config_paths() -> None:
    """Let MMEngine configs inherit ``mmselfkd::`` bases (idempotent)."""
    # mmengine.hub.get_config and get_model check the table first
    MODULE2PACKAGE.setdefault('mmselfkd', 'mmselfkd')
    Config._get_cfg_path = staticmethod(_get_cfg_path)
