"""Load a checkpoint for evaluation only when it fills the model exactly.

MMEngine's ``load_from`` loads non-strictly and only logs the keys it could not place, so
``tools/test.py`` with a checkpoint that does not fit the config evaluates a partly random
network and exits 0. :func:`load_for_test` loads strictly, recognises the two usual
mix-ups (an export with a method config, a training checkpoint with a plain config) and
does the right thing, and refuses anything else with the keys that do not fit.
"""
import os.path as osp
from typing import Dict, List, Optional

from torch import Tensor, nn

from mmselfkd.models.algorithms.base import BaseSelfKDAlgorithm
from mmselfkd.utils.compat import load_local_checkpoint
from mmselfkd.utils.errors import SetupError
from mmselfkd.utils.export import (compare_state_dicts, config_from_checkpoint, deploy_prefix,
                                   describe_mismatch)


def load_for_test(model: nn.Module, path: str) -> Optional[str]:
    """Load ``path`` into ``model`` strictly; returns a line saying what was done, if unusual.

    Raises :class:`SetupError` listing the missing, unexpected and mis-shaped keys when the
    checkpoint fits neither the model nor, as described in the module docstring, its
    deployable network.
    """
    if not osp.isfile(path):
        raise SetupError(f'{path}: no such checkpoint file')
    checkpoint = load_local_checkpoint(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items() if isinstance(v, Tensor)}
    if _fits(state, model.state_dict()):
        model.load_state_dict(state, strict=True)
        return None

    if isinstance(model, BaseSelfKDAlgorithm) and _fits(state, model.deployable.state_dict()):
        model.deployable.load_state_dict(state, strict=True)
        note = (f'{path} holds the deployable network only: loaded it into '
                f'model.{model.deploy_attr} of {type(model).__name__}')
        if getattr(model, 'val_heads', None):
            model.val_heads = type(model.val_heads)()
            note += ' (the auxiliary heads of model.val_heads are not in it: not evaluated)'
        return note

    saved_cfg = config_from_checkpoint(checkpoint) if isinstance(checkpoint, dict) else None
    for prefix in _candidate_prefixes(state, saved_cfg):
        inner = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if _fits(inner, model.state_dict()):
            model.load_state_dict(inner, strict=True)
            source = saved_cfg.model.get('type') if saved_cfg is not None else 'training'
            return (f'{path} is a {source} training checkpoint: evaluating its deployable '
                    f'network (the keys under {prefix!r})')

    missing, unexpected, mis_shaped = compare_state_dicts(state, model.state_dict())
    lines = [f'{path} does not fit the model of this config '
             f'({type(model).__name__}); nothing was evaluated.']
    lines += describe_mismatch(missing, unexpected, mis_shaped)
    hint = (f' (this checkpoint was trained with {saved_cfg.model.get("type")}; its config '
            'is stored in it)') if saved_cfg is not None else ''
    lines.append(f'Test it with the config it was trained with{hint}, or with the plain config '
                 'of its deployable network after tools/export.py.')
    raise SetupError('\n'.join(lines))


def _fits(state: Dict[str, Tensor], target: Dict[str, Tensor]) -> bool:
    return state.keys() == target.keys() and all(
        state[k].shape == target[k].shape for k in target)


def _candidate_prefixes(state: Dict[str, Tensor], saved_cfg) -> List[str]:
    """The checkpoint's own deploy prefix first, then every top-level module name."""
    prefixes = []
    if saved_cfg is not None:
        prefix = deploy_prefix(saved_cfg.get('model'))
        if prefix:
            prefixes.append(prefix)
    for key in state:
        head = key.split('.', 1)[0] + '.'
        if '.' in key and head not in prefixes:
            prefixes.append(head)
    return prefixes
