"""Downstream fine-tuning from an exported backbone: one config variable, checked loudly.

Downstream configs (``configs/downstream/``) declare a top-level ``backbone_checkpoint``
and initialise ``model.backbone`` from it with
``init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')``.
``--cfg-options backbone_checkpoint=PATH`` only changes the top-level key, so the tools
copy it into the backbone's ``init_cfg`` (:func:`apply_backbone_checkpoint`), and, because
``Pretrained`` loads non-strictly and only *warns* about missing or mis-shaped keys (a stem
silently left random), check the file against the built backbone before any training step
(:func:`check_backbone_checkpoint`).
"""
from typing import Optional

from torch import nn

from mmselfkd.utils.errors import SetupError
from mmselfkd.utils.export import compare_state_dicts, deploy_prefix

KEY = 'backbone_checkpoint'


class BackboneCheckpointError(SetupError, RuntimeError):
    """The backbone checkpoint is missing or does not fit the model's backbone."""


def apply_backbone_checkpoint(cfg) -> Optional[str]:
    """Point the backbone's ``init_cfg`` at ``cfg.backbone_checkpoint``; returns the path.

    The backbone is ``model.backbone``, or ``model.student.backbone`` (the deployable host)
    when the model is an mmselfkd algorithm.

    Configs without the key are left untouched (returns None).
    """
    if KEY not in cfg:
        return None
    path = cfg.get(KEY)
    if not path:
        raise BackboneCheckpointError(
            f'{KEY} is not set. Export the backbone of a trained mmselfkd model with '
            '`python tools/export.py CKPT backbone.pth --part backbone` and pass '
            f'`--cfg-options {KEY}=backbone.pth`.')
    host = cfg.model
    prefix = deploy_prefix(cfg.model)  # e.g. 'student.' for an mmselfkd algorithm
    if prefix:
        host = cfg.model[prefix.rstrip('.')]
    host.backbone.init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    return path


def check_backbone_checkpoint(model: nn.Module, path: str) -> None:
    """Raise :class:`BackboneCheckpointError` unless ``path`` fills ``model.backbone`` exactly.

    ``model`` is the host model, or an mmselfkd algorithm whose deployable host is checked.
    """
    model = getattr(model, 'deployable', model)
    import os.path as osp

    from mmselfkd.utils.compat import load_local_checkpoint
    if not osp.isfile(path):
        raise BackboneCheckpointError(f'{KEY}={path}: no such file.')
    checkpoint = load_local_checkpoint(path, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    exported = {k: v for k, v in state_dict.items() if k.startswith('backbone.')}
    target = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
    missing, _, mismatched = compare_state_dicts(exported, target, part='backbone')
    unexpected = sorted(k for k in exported if k not in target)
    if missing or mismatched or unexpected:
        details = '\n'.join(
            [f'  missing: {k}' for k in missing] + [f'  shape mismatch: {k}' for k in mismatched]
            + [f'  unexpected: {k}' for k in unexpected])
        raise BackboneCheckpointError(
            f'{KEY}={path} does not fit model.backbone ({len(missing)} missing, '
            f'{len(mismatched)} mis-shaped, {len(unexpected)} unexpected keys); '
            'training would start from a partly random backbone:\n' + details
            + '\nCheck the depth/type of the backbone, or run `python tools/export.py CKPT OUT '
            '--part backbone --check CONFIG`.')
