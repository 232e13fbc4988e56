"""mmselfkd registries: children of MMEngine's root registries, scope ``mmselfkd``.

Configs keep the host's ``default_scope`` (``mmpretrain``, ``mmseg`` or ``mmdet``) and name
mmselfkd classes with the prefix, e.g. ``type='mmselfkd.FRSKD'``. A prefixed lookup imports
``mmselfkd.registry`` and, through ``locations``, the modules that register the classes.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import Registry

__all__ = [
    'MODELS', 'DATASETS', 'HOOKS', 'PARAM_SCHEDULERS', 'METRICS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'FUNCTIONS'
]

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmselfkd',
                  locations=['mmselfkd.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='mmselfkd',
                    locations=['mmselfkd.datasets'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmselfkd',
                 locations=['mmselfkd.engine.hooks'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
                            scope='mmselfkd', locations=['mmselfkd.engine.schedulers'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='mmselfkd',
                   locations=['mmselfkd.evaluation'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmselfkd', locations=['mmselfkd.engine.optimizers'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope='mmselfkd',
                     locations=['mmselfkd.engine.hooks'])
