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
wraps ``Config._get_cfg_path`` for the ``mmselfkd::`` prefix: the path is looked up in
:func:`config_root` and the base keeps the scope of the config that inherits it, as a relative
``_base_`` path would. A script that calls ``Config.fromfile`` on such a config itself must
``import mmselfkd`` first.

Other packages' ``pkg::`` paths go to MMEngine unchanged, after one check: every segmentation
and detection config inherits an ``mmseg::`` or ``mmdet::`` base, and those packages import
mmcv's compiled ops, which the classification-only install (``bash tools/install.sh
--classification``, mmcv-lite) leaves out. Such a base then stops with the command that
installs them (:class:`MissingDependencyError`) instead of MMEngine's "please install
mmsegmentation manually" or a ``No module named 'mmcv._ext'`` deep inside the model build.
"""
import os.path as osp
from importlib.util import find_spec
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

from .errors import SetupError

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


class MissingDependencyError(SetupError, ImportError):
    """A config needs a package (or mmcv's compiled ops) that is not installed."""


# the packages of dense bases and what they need beyond the classification-only install
DENSE_PACKAGES = {'mmseg': 'mmsegmentation 1.2.2', 'mmdet': 'mmdet 3.3.0'}
FULL_INSTALL = ('bash tools/install.sh   (from the mmselfkd repository: builds mmcv 2.1.0 with '
                'its compiled ops, about 10 minutes on 2 cores, then installs mmsegmentation '
                '1.2.2 and mmdet 3.3.0)')


def check_dense_dependencies(cfg_path: str, filename: str) -> None:
    """Raise :class:`MissingDependencyError` if an ``mmseg::``/``mmdet::`` base cannot work."""
    package = cfg_path.partition('::')[0]
    if package not in DENSE_PACKAGES:
        return
    missing = []
    if find_spec(package) is None:
        missing.append(DENSE_PACKAGES[package])
    if find_spec('mmcv') is not None and find_spec('mmcv._ext') is None:
        missing.append("mmcv's compiled ops (mmcv-lite or an mmcv built without ops is "
                       'installed; it serves classification only)')
    if missing:
        raise MissingDependencyError(
            f'{filename} is a {"segmentation" if package == "mmseg" else "detection"} config '
            f'(it inherits {cfg_path}) and needs {" and ".join(missing)}. Install them with:\n'
            f'    {FULL_INSTALL}')


def _get_cfg_path(cfg_path: str, filename: str,
                  _mmengine_get_cfg_path=Config._get_cfg_path) -> Tuple[str, Optional[str]]:
    """``Config._get_cfg_path`` that resolves ``mmselfkd::`` bases without a scope."""
    if cfg_path.startswith(PREFIX):
        return resolve_config_path(cfg_path), None
    if '::' in cfg_path:
        check_dense_dependencies(cfg_path, filename)
    return _mmengine_get_cfg_path(cfg_path, filename)


def enable_package_config_paths() -> None:
    """Let MMEngine configs inherit ``mmselfkd::`` bases and check dense bases (idempotent)."""
    # mmengine.hub.get_config and get_model check the table first
    MODULE2PACKAGE.setdefault('mmselfkd', 'mmselfkd')
    Config._get_cfg_path = staticmethod(_get_cfg_path)
