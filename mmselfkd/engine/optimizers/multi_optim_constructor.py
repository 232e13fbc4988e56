"""One optimizer wrapper per group of sub-modules, collected in an ``OptimWrapperDict``."""
import copy
from typing import Dict, List, Optional, Union

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from mmselfkd.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Builds an :class:`OptimWrapperDict` with one ordinary optimizer wrapper per key.

    Every key of ``optim_wrapper`` (except ``constructor``) names a wrapper and holds an
    ordinary wrapper config (``type``, ``optimizer``, ``paramwise_cfg``, ``clip_grad`` ...)
    plus an optional ``modules``: the attribute name(s) of the model's sub-modules it optimizes
    (default: the key itself). Each wrapper is built by MMEngine's
    ``DefaultOptimWrapperConstructor`` on its sub-modules, so ``paramwise_cfg`` works per
    key. Every trainable parameter must belong to exactly one wrapper; anything else is a
    config error and is reported at build time.

    Example (FFSD)::

        optim_wrapper = dict(
            constructor='mmselfkd.MultiOptimWrapperConstructor',
            students=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True,
                                         weight_decay=1e-4)),
            leader=dict(modules=['leader', 'trans_fusion'], optimizer=...),
            ...)

    Args:
        optim_wrapper_cfg: the ``optim_wrapper`` config without ``constructor``.
        paramwise_cfg: must be None; give ``paramwise_cfg`` inside each wrapper's config.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError('optim_wrapper.paramwise_cfg: with MultiOptimWrapperConstructor '
                             'put paramwise_cfg inside each wrapper, e.g. '
                             'optim_wrapper.leader.paramwise_cfg')
        if not optim_wrapper_cfg:
            raise ValueError('optim_wrapper: MultiOptimWrapperConstructor needs at least one '
                             'wrapper config, e.g. optim_wrapper.students=dict(optimizer=...)')
        for key, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(
                    f'optim_wrapper.{key}: MultiOptimWrapperConstructor expects one wrapper '
                    f'config per key, each with an "optimizer", got {cfg!r}. Options such '
                    f'as type=AmpOptimWrapper go inside each wrapper.')
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))

    @staticmethod
    def _modules_of(model: nn.Module, key: str, names: Union[str, List[str]]) -> nn.Module:
        names = [names] if isinstance(names, str) else list(names)
        modules = {}
        for name in names:
            if not hasattr(model, name):
                raise AttributeError(f'optim_wrapper.{key}.modules: {type(model).__name__} has '
                                     f'no sub-module {name!r}')
            module = getattr(model, name)
            modules[name] = module.module if is_model_wrapper(module) else module
        return next(iter(modules.values())) if len(modules) == 1 else nn.ModuleDict(modules)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers: Dict[str, object] = {}
        owner: Dict[int, str] = {}
        for key, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(cfg)
            module = self._modules_of(model, key, cfg.pop('modules', key))
            for param in module.parameters():
                if id(param) in owner:
                    raise ValueError(f'optim_wrapper.{key}.modules overlaps '
                                     f'optim_wrapper.{owner[id(param)]}.modules: a parameter '
                                     'may belong to one optimizer only')
                owner[id(param)] = key
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            wrappers[key] = DefaultOptimWrapperConstructor(cfg, paramwise_cfg)(module)
        missing = [name for name, param in model.named_parameters()
                   if param.requires_grad and id(param) not in owner]
        if missing:
            raise ValueError(f'optim_wrapper: no wrapper optimizes {missing[:5]} '
                             f'({len(missing)} trainable parameters); add their module to '
                             'some optim_wrapper.<key>.modules')
        return OptimWrapperDict(**wrappers)
