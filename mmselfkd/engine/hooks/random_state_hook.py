import os
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import EpochBasedTrainLoop

from mmselfkd.registry import FUNCTIONS, HOOKS

CHECKPOINT_KEY = 'random_states'


def get_random_states() -> dict:
    """The states of Python's, NumPy's, torch's and (if present) every CUDA generator."""
    states = dict(python=random.getstate(), numpy=np.random.get_state(),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict) -> None:
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


@FUNCTIONS.register_module()
def seed_worker(worker_id: int) -> None:
    """Seed a dataloader worker from the seed torch gave it and the process rank.

    torch seeds each worker with ``base_seed + worker_id``, where ``base_seed`` is drawn from
    the main process's torch generator each time the workers start. With non-persistent
    workers that is every epoch, so the augmentations differ between epochs and follow the
    main process's random state, which :class:`RandomStateHook` saves and restores: a
    resumed run gives its workers the seeds of the uninterrupted run. (MMEngine's default
    ``worker_init_fn`` seeds every worker with ``seed + worker_id`` whatever the epoch.)
    The rank makes the workers of different processes draw different augmentations.
    """
    rank = int(os.environ.get('RANK', 0))
    seeds = np.random.SeedSequence([torch.initial_seed(), rank]).generate_state(2)
    np.random.seed(int(seeds[0]))
    random.seed(int(seeds[1]))
    torch.manual_seed(int(seeds[0]) + (int(seeds[1]) << 32))


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save every process's random states in checkpoints and restore them on resume.

    With it, ``--resume`` continues with the random numbers the uninterrupted run would
    have drawn (augmentations, mixup coefficients, dropout), so a resumed run equals the
    uninterrupted one bit for bit on the CPU. Three things make that hold:

    - the states of every rank are gathered when a checkpoint can be saved (end of an
      epoch, or an iteration at which ``CheckpointHook`` saves or validation runs) and
      stored under ``checkpoint['random_states']`` (a list indexed by rank);
    - on resume each rank restores its own state just before training continues (a
      resume with a different number of processes warns and keeps fresh states);
    - validation runs with the training states set aside and put back afterwards, so
      whether (and how often) a run validates does not change its training.

    Dataloader workers are seeded by :func:`seed_worker` (``tools/train.py`` sets it, with
    non-persistent training workers), so their augmentations follow the restored state.
    """

    priority = 'ABOVE_NORMAL'  # gathers before CheckpointHook ('VERY_LOW') saves

    def __init__(self):
        self._gathered: Optional[list] = None
        self._to_restore: Optional[dict] = None
        self._before_val: Optional[dict] = None

    # ---------------------------------------------------------------- saving
    def after_train_epoch(self, runner) -> None:
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            self._gather()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop) and self._may_save(runner):
            self._gather()

    def _may_save(self, runner) -> bool:
        """Whether a checkpoint can be saved after this iteration (iteration-based runs)."""
        if get_world_size() == 1:
            return True  # cheap without a collective: keep the state of every iteration
        loop, step = runner.train_loop, runner.iter + 1
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and (
                    hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
                    or (hook.save_last and hook.is_last_train_iter(runner))):
                return True
        val_interval = getattr(loop, 'val_interval', 0)
        return bool(val_interval) and runner.val_loop is not None and (
            step % val_interval == 0 or step == loop.max_iters)

    def _gather(self) -> None:
        states = get_random_states()
        self._gathered = all_gather_object(states) if get_world_size() > 1 else [states]

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered is not None:
            checkpoint[CHECKPOINT_KEY] = self._gathered

    # ---------------------------------------------------------------- restoring
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: weights only, the run starts afresh
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            runner.logger.warning('the checkpoint holds no random states (written without '
                                  'mmselfkd.RandomStateHook): the resumed run draws other '
                                  'random numbers than the uninterrupted run would have')
        elif len(saved) != get_world_size():
            runner.logger.warning(
                f'the checkpoint holds the random states of {len(saved)} processes, this run '
                f'has {get_world_size()}: they are not restored, so the resumed run draws '
                'other random numbers than the uninterrupted run would have')
        else:
            self._to_restore = saved[get_rank()]
            self._gathered = saved  # what a best checkpoint saved before the next gather holds

    def before_train_epoch(self, runner) -> None:
        # before the epoch's dataloader iterator (and its workers) draws from the generators
        if self._to_restore is not None:
            set_random_states(self._to_restore)
            self._to_restore = None

    # ---------------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        self._before_val = get_random_states()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_random_states(self._before_val)
            self._before_val = None
