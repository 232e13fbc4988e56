import datetime
import importlib
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True, host: str = 'mmpretrain') -> None:
    """Fill the host library's registries (mmselfkd's own are filled when the package is
    imported).

    Args:
        init_default_scope: set the global default scope to ``host``, as the configs do.
        host: the host library whose registries resolve unprefixed types
            (``'mmpretrain'``, ``'mmseg'`` or ``'mmdet'``).
    """
    importlib.import_module(f'{host}.utils').register_all_modules(init_default_scope=False)
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance(f'mmselfkd-{host}', scope_name=host)
    elif current.scope_name != host:
        warnings.warn(f'The current default scope "{current.scope_name}" is not "{host}"; '
                      f'register_all_modules sets it to "{host}".')
        DefaultScope.get_instance(f'mmselfkd-{host}-{datetime.datetime.now()}', scope_name=host)
