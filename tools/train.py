"""Train a model (mmselfkd algorithm or plain mmpretrain/mmseg/mmdet model).

The flags are mmpretrain's ``tools/train.py`` flags, so users' habits carry over:

    python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] [--amp] [--no-validate]
                          [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
from copy import deepcopy

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmselfkd  # noqa: F401  (registration, version checks, checkpoint-loading fix)
from mmselfkd.engine.hooks import add_safety_hooks
from mmselfkd.utils.downstream import apply_backbone_checkpoint, check_backbone_checkpoint
from mmselfkd.utils.errors import NonFiniteLossError, SetupError
from mmselfkd.utils.resume import check_resume_checkpoint, find_resume_checkpoint
from mmselfkd.utils.launch import (reuse_freed_cpu_memory, setup_cpu_distributed,
                                   teardown_distributed, uses_mmpretrain_collate)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model with mmselfkd')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or (no value) from the newest checkpoint '
        'of the work directory that loads')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic-mixed-precision training (GPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='disable pin_memory in the dataloaders')
    parser.add_argument('--no-persistent-workers', action='store_true',
                        help='disable persistent_workers in the validation and test '
                        'dataloaders (training workers are not persistent by default)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs merged into it, e.g. '
        'train_dataloader.batch_size=64 or key="[a,b]"')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    # what `mim train` passes with --launcher none
    parser.add_argument('--device', choices=['cpu', 'cuda'], help=argparse.SUPPRESS)
    parser.add_argument('--gpus', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # before anything initialises CUDA
    if args.gpus is not None and args.gpus > 1 and args.launcher == 'none':
        parser.error(f'--gpus {args.gpus} needs several processes: use '
                     f'`bash tools/dist_train.sh CONFIG {args.gpus}` (or mim train '
                     '--launcher pytorch)')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_amp(cfg):
    """``--amp`` for one optimizer wrapper, or for every wrapper of a multi-optimizer config."""
    optim_wrapper = cfg.optim_wrapper
    wrappers = [optim_wrapper]
    if 'constructor' in optim_wrapper and 'optimizer' not in optim_wrapper:
        wrappers = [v for v in optim_wrapper.values()
                    if isinstance(v, dict) and 'optimizer' in v]
    for wrapper in wrappers:
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')


def merge_args(cfg, args):
    """Merge CLI arguments into the config (as mmpretrain's train.py does)."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        enable_amp(cfg)

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    default_dataloader_cfg = ConfigDict(pin_memory=True, persistent_workers=True)
    if uses_mmpretrain_collate(cfg):
        default_dataloader_cfg.collate_fn = dict(type='default_collate')
    # Training workers restart every epoch, seeded from the main process's generator, so
    # the augmentations of a resumed run equal the uninterrupted run's (RandomStateHook).
    train_defaults = dict(persistent_workers=False,
                          worker_init_fn=dict(type='mmselfkd.seed_worker'))
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field, None) is None:
            continue
        dataloader_cfg = deepcopy(default_dataloader_cfg)
        if field == 'train_dataloader':
            dataloader_cfg.update(train_defaults)
        dataloader_cfg.update(cfg[field])
        cfg[field] = dataloader_cfg
        if args.no_pin_memory:
            cfg[field]['pin_memory'] = False
        if args.no_persistent_workers:
            cfg[field]['persistent_workers'] = False

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        # torch refuses persistent workers without workers
        if cfg.get(field, None) is not None and cfg[field].get('num_workers', 0) == 0:
            cfg[field]['persistent_workers'] = False
    train_loader = cfg.get('train_dataloader') or {}
    if train_loader.get('persistent_workers'):
        print('warning: train_dataloader.persistent_workers=True: the workers keep their '
              'random streams across epochs, so a resumed run augments differently from '
              'the uninterrupted one', flush=True)
    add_safety_hooks(cfg)
    if args.resume == 'auto':
        # MMEngine would follow work_dir/last_checkpoint blindly; take the newest
        # checkpoint that loads instead (a kill can leave a truncated file behind)
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        if cfg.load_from is None:
            print(f'--resume: no checkpoint in {cfg.work_dir}, starting a new run', flush=True)
    elif args.resume is not None:
        check_resume_checkpoint(args.resume)
        cfg.resume = True
        cfg.load_from = args.resume

    return cfg


def main():
    args = parse_args()
    if not torch.cuda.is_available():
        reuse_freed_cpu_memory()
    try:
        cfg = merge_args(Config.fromfile(args.config), args)
        backbone_checkpoint = apply_backbone_checkpoint(cfg)
        setup_cpu_distributed(cfg)
        if 'runner_type' not in cfg:
            runner = Runner.from_cfg(cfg)
        else:
            runner = RUNNERS.build(cfg)
        if backbone_checkpoint:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            check_backbone_checkpoint(model, backbone_checkpoint)
        runner.train()
        teardown_distributed()
    except (SetupError, NonFiniteLossError) as error:
        # setup problems and diverged runs, not bugs: print the fix, not a traceback
        raise SystemExit(f'error: {error}') from None


if __name__ == '__main__':
    main()
