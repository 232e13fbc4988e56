import copy
import glob
import os.path as osp
from collections import Counter
from typing import Dict, List

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop

from mmselfkd.engine.hooks.export_hook import checkpoint_folder, is_inside
from mmselfkd.registry import HOOKS
from mmselfkd.utils.errors import ConfigError
from mmselfkd.utils.export import (compare_state_dicts, config_from_checkpoint,
                                   describe_mismatch)
from mmselfkd.utils.fileio import remove_stale_temporaries

#: scheduler state that changes while training; everything else defines the schedule
_SCHEDULER_PROGRESS = ('last_step', '_global_step', '_last_value', 'verbose')
RESUME_SCHEDULE_CHOICES = ('auto', 'config', 'checkpoint')


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Make ``--resume`` refuse what it would get silently wrong, and finish what it skips.

    MMEngine's resume loads the checkpoint non-strictly, restores the checkpoint's learning
    rate schedule over the config's, follows the absolute paths stored in the checkpoint
    (removing the old best checkpoint when a better one is found, wherever it lies), and
    does not validate the checkpoint it resumes from. This hook, which ``tools/train.py``
    adds to every run, changes that:

    - a checkpoint that does not hold exactly the config's model (missing, unexpected or
      mis-shaped keys, e.g. another method's run) is an error before any step;
    - a schedule in the config that differs from the checkpoint's (``param_scheduler``
      milestones, periods, factors, ``end``, which defaults to ``max_epochs``; the
      optimizer's base learning rate) is applied from the resumed step on when it gives
      the values the run has used (e.g. a longer ``max_epochs``), with a warning listing
      the changes; when it would change the values at the resumed step (e.g. a milestone
      moved before it), the run stops with both values. ``resume_schedule`` in the config
      chooses otherwise: ``'config'`` applies the config's schedule anyway (its values at
      the resumed step, stated), ``'checkpoint'`` keeps the checkpoint's (MMEngine's
      behaviour, stated); the default is ``'auto'``;
    - best checkpoints recorded outside the current checkpoint folder are forgotten (or
      replaced by the copy of the same name in the folder), so nothing outside the folder
      is ever removed;
    - temporary files left in the checkpoint folder by a process killed while writing
      (:func:`mmselfkd.utils.fileio.atomic_write`) are removed;
    - the resumed epoch (or iteration) is validated again when validation was due there
      and no best checkpoint of that step exists: a run killed after saving its last
      checkpoint and before validating it is validated on ``--resume``.
    """

    priority = 'LOWEST'  # before_train after CheckpointHook.before_train read the hub

    def __init__(self):
        self._resumed = False

    # ------------------------------------------------------------ when the checkpoint loads
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        self._resumed = True
        source = getattr(runner, '_load_from', None) or 'the checkpoint'
        self._check_model(runner, checkpoint, source)
        self._check_schedule(runner, checkpoint, source)

    @staticmethod
    def _check_model(runner, checkpoint: dict, source: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        saved = {(k[len('module.'):] if k.startswith('module.') else k): v
                 for k, v in checkpoint.get('state_dict', {}).items()}
        mismatch = compare_state_dicts(saved, model.state_dict())
        if not any(mismatch):
            return
        saved_cfg = config_from_checkpoint(checkpoint)
        saved_type = saved_cfg.model.get('type') if saved_cfg is not None else 'unknown'
        raise ConfigError('\n'.join(
            [f'--resume {source}: the checkpoint does not hold the model of this config '
             f"(checkpoint: {saved_type}, config: {runner.cfg.model.get('type')})."]
            + describe_mismatch(*mismatch)
            + ['Resume a checkpoint of this config, or start a new run from its weights with '
               '--cfg-options load_from=CKPT (non-strict, logged).']))

    @staticmethod
    def _check_schedule(runner, checkpoint: dict, source: str) -> None:
        choice = runner.cfg.get('resume_schedule', 'auto')
        if choice not in RESUME_SCHEDULE_CHOICES:
            raise ConfigError(f'resume_schedule must be one of {RESUME_SCHEDULE_CHOICES}, '
                              f'got {choice!r}')
        saved = checkpoint.get('param_schedulers')
        if saved is None or runner.param_schedulers is None:
            return
        differences = _schedule_differences(saved, runner.param_schedulers)
        if not differences:
            return
        listing = '\n'.join(f'  {d}' for d in differences)
        if choice == 'checkpoint':
            runner.logger.warning(
                f'resume_schedule="checkpoint": training continues with the schedule of '
                f'{source}, not the config\'s:\n{listing}')
            return
        meta = checkpoint['meta']
        simulated, values = _config_schedule_at(runner, meta['epoch'], meta['iter'])
        jumps = _value_differences(checkpoint.get('optimizer', {}), values)
        step = f'epoch {meta["epoch"]}' if meta.get('epoch') else f'iteration {meta["iter"]}'
        if jumps and choice == 'auto':
            raise ConfigError(
                f'--resume {source}: the config\'s schedule differs from the checkpoint\'s, '
                f'which MMEngine would restore silently:\n{listing}\nAt {step} the '
                'config\'s schedule gives other values than the run used:\n'
                + '\n'.join(f'  {j}' for j in jumps) + '\nAdd --cfg-options '
                'resume_schedule=config to continue with the config\'s schedule (these '
                'values from the first resumed step), or resume_schedule=checkpoint to keep '
                'the checkpoint\'s.')
        # the config's schedule, from where the checkpoint stands
        checkpoint['param_schedulers'] = simulated
        if 'optimizer' in checkpoint:
            for path, value in values.items():
                _set_in(checkpoint['optimizer'], path, value)
        what = ('jumps to the config\'s values:\n' + '\n'.join(f'  {j}' for j in jumps)
                if jumps else 'which continues what the run used so far')
        runner.logger.warning(f'resumed with the config\'s schedule ({step}), {what}\n'
                              f'Changes from the checkpoint\'s schedule:\n{listing}')

    # ------------------------------------------------------------ once the run starts
    def before_train(self, runner) -> None:
        folder = checkpoint_folder(runner)
        if is_main_process():
            removed = remove_stale_temporaries(folder)
            if removed:
                runner.logger.warning(f'removed {", ".join(removed)} from {folder}: files '
                                      'left incomplete by a process killed while writing')
        if not self._resumed:
            return
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                _forget_outside(runner, hook, folder)
        self._validate_resumed_step(runner, folder)

    @staticmethod
    def _validate_resumed_step(runner, folder: str) -> None:
        loop = runner.train_loop
        if runner.val_loop is None or not getattr(loop, 'val_interval', 0):
            return
        by_epoch = isinstance(loop, EpochBasedTrainLoop)
        step = runner.epoch if by_epoch else runner.iter
        last = loop.max_epochs if by_epoch else loop.max_iters
        if step == 0 or step < loop.val_begin or not (step % loop.val_interval == 0
                                                      or step == last):
            return
        template = 'epoch_{}.pth' if by_epoch else 'iter_{}.pth'
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                template = hook.filename_tmpl
        if glob.glob(osp.join(glob.escape(folder), f'best_*_{template.format(step)}')):
            return  # that step was validated, and was the best at the time
        runner.logger.info(f'validating the resumed {"epoch" if by_epoch else "iteration"} '
                           f'{step} (its validation may not have run before the resume)')
        runner.val_loop.run()


def _forget_outside(runner, hook: CheckpointHook, folder: str) -> None:
    """Point ``hook``'s best checkpoints into ``folder`` or forget them."""
    def local(path):
        if not path or is_inside(path, folder):
            return path
        copy = osp.join(folder, osp.basename(path))
        runner.logger.info(f'the resumed checkpoint records {path}, outside {folder}: '
                           + (f'using {copy} instead' if osp.isfile(copy) else
                              'it will not be removed when a better checkpoint is saved'))
        return copy if osp.isfile(copy) else None

    if getattr(hook, 'best_ckpt_path', None):
        hook.best_ckpt_path = local(hook.best_ckpt_path)
        runner.message_hub.update_info('best_ckpt', hook.best_ckpt_path)
    for key, path in list(getattr(hook, 'best_ckpt_path_dict', {}).items()):
        hook.best_ckpt_path_dict[key] = local(path)
        runner.message_hub.update_info(f'best_ckpt_{key}', hook.best_ckpt_path_dict[key])


def _schedule_differences(saved, current) -> List[str]:
    """Differences between saved and built schedulers, ignoring their progress."""
    saved, current = _by_name(saved), _by_name(current, built=True)
    differences = []
    for name in sorted(set(saved) | set(current)):
        old, new = saved.get(name, []), current.get(name, [])
        label = f'param_scheduler{f"[{name!r}]" if name else ""}'
        if len(old) != len(new):
            differences.append(f'{label}: {len(old)} schedulers in the checkpoint, '
                               f'{len(new)} in the config')
            continue
        for i, (a, b) in enumerate(zip(old, new)):
            for key in sorted(set(a) | set(b)):
                if key in _SCHEDULER_PROGRESS or _same(a.get(key), b.get(key)):
                    continue
                differences.append(f'{label}[{i}].{key}: checkpoint {_show(a.get(key))}, '
                                   f'config {_show(b.get(key))}')
    return differences


def _by_name(schedulers, built: bool = False) -> Dict[str, list]:
    if isinstance(schedulers, dict):
        items = schedulers.items()
    else:
        items = [('', schedulers)]
    return {name: [s.state_dict() if built else s for s in group] for name, group in items}


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1)
    return a == b


def _show(value):
    return sorted(value.elements()) if isinstance(value, Counter) else value


def _config_schedule_at(runner, epoch: int, iteration: int):
    """The config's schedulers stepped to (``epoch``, ``iteration``), as a resumed run
    would hold them had it followed the config from the start: their state dicts (in the
    checkpoint's layout) and the values they set, keyed by their path in the optimizer
    state dict (e.g. ``('param_groups', 0, 'lr')`` or ``('leader', 'param_groups', 0,
    'lr')``)."""
    wrappers = runner.optim_wrapper
    named = dict(wrappers.items()) if isinstance(wrappers, OptimWrapperDict) else {'': wrappers}
    dummies = {name: OptimWrapper(_dummy_optimizer(w.optimizer)) for name, w in named.items()}
    try:
        runner.optim_wrapper = (OptimWrapperDict(**dummies) if isinstance(
            wrappers, OptimWrapperDict) else dummies[''])
        schedulers = runner.build_param_scheduler(copy.deepcopy(runner.cfg.param_scheduler))
    finally:
        runner.optim_wrapper = wrappers
    groups = schedulers if isinstance(schedulers, dict) else {'': schedulers}
    flat = [s for group in groups.values() for s in group]
    per_iter = [s for s in flat if not s.by_epoch]
    if isinstance(runner.train_loop, EpochBasedTrainLoop):
        iters_per_epoch = iteration // epoch if epoch and per_iter else 0
        for _ in range(epoch):
            for _ in range(iters_per_epoch):
                for scheduler in per_iter:
                    scheduler.step()
            for scheduler in flat:
                if scheduler.by_epoch:
                    scheduler.step()
    else:
        for _ in range(iteration):
            for scheduler in per_iter:
                scheduler.step()
    states = {name: [s.state_dict() for s in group] for name, group in groups.items()}
    values = {}
    for name, wrapper in dummies.items():
        params = {s.param_name for s in (groups.get(name) or groups.get('', []))}
        for index, group in enumerate(wrapper.optimizer.param_groups):
            for param in params:
                path = ((name, ) if name else ()) + ('param_groups', index, param)
                values[path] = group[param]
    return (states if isinstance(schedulers, dict) else states['']), values


def _dummy_optimizer(optimizer) -> torch.optim.Optimizer:
    """An optimizer with ``optimizer``'s groups and hyper-parameters at their initial
    values, over one scalar each, for schedulers to step without touching the model."""
    groups = []
    for group in optimizer.param_groups:
        group = {k: copy.deepcopy(v) for k, v in group.items() if k != 'params'}
        for key in [k for k in group if k.startswith('initial_')]:
            group[key[len('initial_'):]] = group.pop(key)
        groups.append(dict(group, params=[torch.zeros(1, requires_grad=True)]))
    return torch.optim.SGD(groups, lr=0.0)


def _value_differences(optimizer_state: dict, values: dict) -> List[str]:
    differences = []
    for path, value in values.items():
        node = optimizer_state
        for key in path:
            node = node[key] if isinstance(node, (dict, list)) and (
                key in node if isinstance(node, dict) else key < len(node)) else None
        if node is None or not _same(node, value):
            name = '.'.join(str(k) for k in path)
            differences.append(f'optimizer {name}: checkpoint {node}, config {value}')
    return differences


def _set_in(node, path, value) -> None:
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
