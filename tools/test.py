"""Test (and evaluate) a checkpoint, mmpretrain-style:

    python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out results.pkl]
                         [--out-item metrics|pred] [--cfg-options k=v ...] [--launcher pytorch]

CHECKPOINT is a training checkpoint of CONFIG, or an export written by tools/export.py
(``*_deploy.pth``). The weights must fill the model exactly; two mismatches are recognised
and handled, with a line saying so:

- a method config with an export: the export is loaded into the method's deployable
  network, which is what validation measures (auxiliary heads are not in an export, so
  ``model.val_heads`` is switched off);
- a plain config with a method's training checkpoint: the deployable network is extracted.

Any other missing, unexpected or mis-shaped key is an error, before anything is evaluated.
"""
import argparse
import os
import os.path as osp
from copy import deepcopy

import mmengine
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.evaluator import DumpResults
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmselfkd  # noqa: F401  (registration, version checks, checkpoint-loading fix)
from mmselfkd.evaluation import MultiHeadAccuracy
from mmselfkd.utils.checkpoint_fit import load_for_test
from mmselfkd.utils.errors import SetupError
from mmselfkd.utils.launch import (setup_cpu_distributed, teardown_distributed,
                                   uses_mmpretrain_collate)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the metrics file')
    parser.add_argument('--out', help='the file to write results to (.pkl or .json)')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        help='write metrics or predictions to --out (default: predictions)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs merged into it')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='disable pin_memory in the dataloader')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded by load_for_test, which checks that it fits

    default_dataloader_cfg = ConfigDict(pin_memory=True)
    if uses_mmpretrain_collate(cfg):
        default_dataloader_cfg.collate_fn = dict(type='default_collate')
    if cfg.get('test_dataloader', None) is not None:
        dataloader_cfg = deepcopy(default_dataloader_cfg)
        dataloader_cfg.update(cfg.test_dataloader)
        cfg.test_dataloader = dataloader_cfg
        if args.no_pin_memory:
            cfg.test_dataloader['pin_memory'] = False

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('test_dataloader', None) is not None \
            and cfg.test_dataloader.get('num_workers', 0) == 0:
        cfg.test_dataloader['persistent_workers'] = False
    return cfg


def main():
    args = parse_args()
    if args.out is None and args.out_item is not None:
        raise ValueError('--out-item needs --out')
    try:
        cfg = merge_args(Config.fromfile(args.config), args)
        setup_cpu_distributed(cfg)
        if 'runner_type' not in cfg:
            runner = Runner.from_cfg(cfg)
        else:
            runner = RUNNERS.build(cfg)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        note = load_for_test(model, args.checkpoint)
        if note:
            runner.logger.info(f'tools/test.py: {note}')
        if not getattr(model, 'val_heads', None):
            metrics = runner.test_evaluator.metrics
            metrics[:] = [m for m in metrics if not isinstance(m, MultiHeadAccuracy)]
        if args.out and args.out_item in ('pred', None):
            runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
        metrics = runner.test()
    except SetupError as error:
        raise SystemExit(f'error: {error}') from None
    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    teardown_distributed()


if __name__ == '__main__':
    main()
