"""Time one training step of an official implementation beside ours, on the CPU.

    python tools/analysis/official_benchmark.py METHOD OFFICIAL_ROOT [--config CONFIG]
        [--batch-size 16] [--iters 5] [--warmup 2] [--rounds 3] [--threads T]
        [--cfg-options k=v ...] [--profile] [--json OUT]

``OFFICIAL_ROOT`` is a clone of the method's official repository (at the commit the method
README cites); its code is loaded from there at run time and runs unchanged, through its own
training function. Each round measures ours (``tools/benchmark.py``'s step of ``--config``)
and then the official step, each in a fresh process, with the same batch size, 32x32
synthetic images, number of threads (``--threads``, default: PyTorch's) and CPU memory
reuse (:func:`mmselfkd.utils.launch.reuse_freed_cpu_memory`). The step times are medians
over ``--iters`` steps after ``--warmup``; the report gives the median over rounds of each,
"x official" (ours / official) and the per-round ratios. ``--profile`` then runs each side
once more, in a fresh process, with its timed steps under ``torch.profiler``, and prints the
CPU time per step of each kind of operator and of the operators whose times differ most
(``tools/benchmark.py``'s ``print_operator_times``): where the two steps spend their time.

What is timed per method (the official file and function, and its setting):

* ``frskd``, MingiJi/FRSKD: ``classification/main.py`` ``main()`` with the README's CIFAR-100
  command (``--data CIFAR100 --alpha 2 --beta 100 --aux none --aug none``; CIFAR ResNet-18,
  ``BiFPNc`` width 2 depth 2, T 4), which builds the networks, losses and SGD and calls
  ``classification/utils.py`` ``train()``; an iteration of its loop is one step.
  Ours: ``configs/frskd/resnet18_cifar100.py``.
* ``mixskd``, winycg/Self-KD-Lib: ``main_mixskd_cifar.py`` ``train()`` with
  ``--arch MixSKD_CIFAR_ResNet18`` (mixup alpha 0.4, T 3) after the script's module-level
  set-up (network, ``DataParallel``); the criteria and SGD are built as in its ``__main__``
  block (``discriminatorLoss`` on the stage widths, nesterov SGD), at the first epoch after
  the warm-up. Ours: ``configs/mixskd/resnet18_cifar100.py``.
* ``hssakd-online``, winycg/HSAKD: ``train_online_kd_cifar.py`` ``train()`` with
  ``--arch WRN_40_2_WRN_40_2`` (T 3) after the script's module-level set-up; criteria and
  nesterov SGD as in its ``__main__`` block. Ours: ``configs/hssakd/wrn40-2_cifar100_online.py``.
* ``ffsd``, SJLeo/FFSD: ``CIFARTrainer.py`` ``Trainer(opt, logger).train_with_test(5)``
  (the first epoch with the full loss weights) with the README's CIFAR-100 options
  (``--model resnet32 --lambda_diversity 1e-5 --lambda_self_distillation 1000
  --lambda_fusion 10``, 2 students, ``--display_id 0 --no_html``): forwards, four losses
  and the seven optimizer steps of an iteration. It imports ``dominate`` (FFSD's
  requirements). Ours: ``configs/ffsd/resnet32_cifar100.py``.

The official code is left as it is. Around it: ``.cuda()`` of tensors and modules returns
them unchanged on a machine without CUDA (the official scripts call it unconditionally);
the dataset the scripts would read or download is replaced by a loader of one synthetic,
normalised batch (repeated) that records the time at which the training loop asks for each
batch: the time between two requests is one iteration of the official loop (forward,
losses, backward, optimizer steps and its per-iteration bookkeeping). Files the scripts
write (logs, checkpoint folders) go to a temporary directory, and their console output is
discarded.
"""
import argparse
import contextlib
import json
import multiprocessing
import os
import os.path as osp
import runpy
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace
from typing import Optional

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # benchmark_tool.py beside this file
from benchmark_tool import load_benchmark_tool  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_CLASSES = 100
IMAGE_SIZE = 32

#: method -> the official repository, a file its clone must hold, and our config
METHODS = {
    'frskd': ('MingiJi/FRSKD', 'classification/utils.py', 'configs/frskd/resnet18_cifar100.py'),
    'mixskd': ('winycg/Self-KD-Lib', 'main_mixskd_cifar.py',
               'configs/mixskd/resnet18_cifar100.py'),
    'hssakd-online': ('winycg/HSAKD', 'train_online_kd_cifar.py',
                      'configs/hssakd/wrn40-2_cifar100_online.py'),
    'ffsd': ('SJLeo/FFSD', 'CIFARTrainer.py', 'configs/ffsd/resnet32_cifar100.py'),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Time one training step of an official implementation beside ours (CPU)')
    parser.add_argument('method', choices=sorted(METHODS))
    parser.add_argument('official_root', help='a clone of the official repository')
    parser.add_argument('--config', help='our config (default: the one of the same model)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--iters', type=int, default=5, help='timed steps')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first')
    parser.add_argument('--rounds', type=int, default=3,
                        help='measure ours and the official step this many times, alternating, '
                        'each in a fresh process')
    parser.add_argument('--threads', type=int, help='torch threads (default: PyTorch\'s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of our config (as tools/benchmark.py)')
    parser.add_argument('--profile', action='store_true',
                        help='then profile the timed steps of each side once more and print '
                        'their CPU time per kind of operator')
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args(argv)
    repo, marker, config = METHODS[args.method]
    if not osp.isfile(osp.join(args.official_root, marker)):
        parser.error(f'official_root {args.official_root!r} has no {marker}: give the root of a '
                     f'clone of {repo}')
    for name in ('batch_size', 'iters', 'rounds'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    args.official_root = osp.abspath(args.official_root)
    args.config = args.config or osp.join(REPO_ROOT, config)
    return args


# ----------------------------------------------------------------- the timed loader
class SyntheticCIFAR(torch.utils.data.Dataset):
    """``length`` normalised 32x32 images with labels ``i % 100`` (what the official scripts
    read of a dataset: its length, ``targets`` and one item)."""

    def __init__(self, length: int):
        self.length = length
        self.targets = [i % NUM_CLASSES for i in range(length)]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        generator = torch.Generator().manual_seed(index)
        return (torch.randn(3, IMAGE_SIZE, IMAGE_SIZE, generator=generator),
                self.targets[index])


class TimedLoader:
    """Gives ``steps`` copies of one batch and records when each is asked for.

    The time between two requests of a training loop is one iteration of it; the request
    after the last batch (which ends the loop) closes the last iteration.

    Args:
        batch_size: images per batch.
        steps: batches per pass over the loader.
        dataset_length: the length of ``dataset`` (FFSD derives its logging interval from it).
        profile_from: start ``self.profiler`` (CPU operators) when batch ``profile_from`` is
            asked for and stop it when the loop ends. Defaults to None (no profiling, and
            ``self.profiler`` is None).
    """

    def __init__(self, batch_size: int, steps: int, dataset_length: int,
                 profile_from: Optional[int] = None):
        self.dataset = SyntheticCIFAR(dataset_length)
        images, labels = zip(*(self.dataset[i] for i in range(batch_size)))
        self.inputs = torch.stack(images)
        self.targets = torch.tensor(labels)
        self.steps = steps
        self.stamps = []
        self.profile_from = profile_from
        self.profiler = None if profile_from is None else torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU])

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for step in range(self.steps):
            if step == self.profile_from:
                self.profiler.start()
            self.stamps.append(time.perf_counter())
            yield self.inputs.clone(), self.targets.clone()
        self.stamps.append(time.perf_counter())
        if self.profile_from is not None and self.profile_from < self.steps:
            self.profiler.stop()

    def step_times(self):
        return [b - a for a, b in zip(self.stamps, self.stamps[1:])]


#: the test loader of the scripts: never iterated, its dataset's length is printed
EMPTY_LOADER = SimpleNamespace(dataset=SyntheticCIFAR(0))


# ------------------------------------------------------------- the official steps
@contextlib.contextmanager
def cpu_cuda_calls():
    """``.cuda()`` of tensors and modules returns them unchanged when there is no CUDA."""
    if torch.cuda.is_available():
        yield
        return
    tensor_cuda, module_cuda = torch.Tensor.cuda, torch.nn.Module.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.cuda, torch.nn.Module.cuda = tensor_cuda, module_cuda


def official_frskd(root, loader, work_dir, batch_size):
    from classification import main as official  # classification/main.py
    official.create_loader = lambda *args: (loader, [], NUM_CLASSES)
    sys.argv = ['main.py', '--data_dir', work_dir, '--data', 'CIFAR100', '--batch_size',
                str(batch_size), '--alpha', '2', '--beta', '100', '--aux', 'none',
                '--aux_lamb', '0', '--aug', 'none', '--aug_a', '0', '--epoch', '1']
    official.main()


def official_mixskd(root, loader, work_dir, batch_size):
    import dataloader.dataloaders
    from torch import nn, optim
    dataloader.dataloaders.load_dataset = lambda args: (loader, EMPTY_LOADER)
    sys.argv = ['main_mixskd_cifar.py', '--arch', 'MixSKD_CIFAR_ResNet18', '--dataset',
                'CIFAR-100', '--batch-size', str(batch_size), '--checkpoint-dir',
                osp.join(work_dir, 'checkpoint')]
    script = runpy.run_path(osp.join(root, 'main_mixskd_cifar.py'), run_name='official')
    scope = script['train'].__globals__  # the globals its train() reads
    args, net = scope['args'], scope['net']
    # the set-up of the script's __main__ block (training branch)
    net.eval()
    _, features = net(torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE))
    dims = [feature.size(1) for feature in features]
    scope['num_stage'] = len(dims)
    criterion_gan = scope['methods'].discriminatorLoss(dims)
    optimizer = optim.SGD(nn.ModuleList([net, criterion_gan]).parameters(), lr=0.1,
                          momentum=0.9, weight_decay=args.weight_decay, nesterov=True)
    criteria = nn.ModuleList([nn.CrossEntropyLoss(), scope['DistillKL'](args.kd_T),
                              criterion_gan])
    scope['train'](args.warmup_epoch, criteria, optimizer)


def official_hssakd_online(root, loader, work_dir, batch_size):
    import torchvision
    from torch import nn, optim
    torchvision.datasets.CIFAR100 = lambda *args, **kwargs: SyntheticCIFAR(batch_size)
    os.makedirs('result', exist_ok=True)  # the script's log folder
    sys.argv = ['train_online_kd_cifar.py', '--arch', 'WRN_40_2_WRN_40_2', '--batch-size',
                str(batch_size), '--checkpoint-dir', osp.join(work_dir, 'checkpoint')]
    script = runpy.run_path(osp.join(root, 'train_online_kd_cifar.py'), run_name='official')
    scope = script['train'].__globals__
    scope['trainloader'] = loader
    args, net = scope['args'], scope['net']
    # the set-up of the script's __main__ block (training branch)
    optimizer = optim.SGD(nn.ModuleList([net]).parameters(), lr=0.1, momentum=0.9,
                          weight_decay=args.weight_decay, nesterov=True)
    criteria = nn.ModuleList([nn.CrossEntropyLoss(), scope['DistillKL'](args.kd_T)])
    scope['train'](args.warmup_epoch, criteria, optimizer)


def official_ffsd(root, loader, work_dir, batch_size):
    import logging
    try:
        import CIFARTrainer
    except ModuleNotFoundError as error:
        raise SystemExit(f'SJLeo/FFSD: {error}; install its requirements '
                         '(requirements.txt: dominate)') from None
    from options import options
    CIFARTrainer.create_dataLoader = lambda opt: SimpleNamespace(
        trainLoader=loader, testLoader=EMPTY_LOADER)
    opt = options.parser.parse_args([
        '--dataroot', work_dir, '--dataset', 'cifar100', '--model', 'resnet32',
        '--lambda_diversity', '1e-5', '--lambda_self_distillation', '1000',
        '--lambda_fusion', '10', '--name', 'benchmark', '--checkpoints_dir', work_dir,
        '--train_batch_size', str(batch_size), '--display_id', '0', '--no_html'])
    trainer = CIFARTrainer.Trainer(opt, logging.getLogger('official'))
    epoch = 5  # lambda_warmup gives the full loss weights from epoch 5 on
    trainer.lambda_warmup(epoch)
    trainer.train_with_test(epoch)


OFFICIAL_STEPS = {'frskd': official_frskd, 'mixskd': official_mixskd,
                  'hssakd-online': official_hssakd_online, 'ffsd': official_ffsd}


def _prepare_process(threads):
    if threads is not None:
        torch.set_num_threads(threads)
    from mmselfkd.utils.launch import reuse_freed_cpu_memory
    reuse_freed_cpu_memory()  # as tools/benchmark.py does for CPU runs


def measure_official(method, root, batch_size, warmup, iters, threads, profile=False):
    """Median step time of the official training loop (run in this process); with
    ``profile``, the timed steps run under the profiler and their operator times are
    returned too."""
    _prepare_process(threads)
    steps = warmup + iters
    # FFSD logs every len(dataset) // batch_size // 10 iterations: never within the steps
    loader = TimedLoader(batch_size, steps, dataset_length=10 * batch_size * (steps + 1),
                         profile_from=warmup if profile else None)
    torch.manual_seed(0)
    sys.path.insert(0, root)
    with tempfile.TemporaryDirectory() as work_dir, cpu_cuda_calls(), \
            open(os.devnull, 'w') as devnull, contextlib.redirect_stdout(devnull):
        cwd = os.getcwd()
        os.chdir(work_dir)
        try:
            OFFICIAL_STEPS[method](root, loader, work_dir, batch_size)
        finally:
            os.chdir(cwd)
    times = loader.step_times()
    if len(times) != steps:
        raise RuntimeError(f'the official training loop of {method} asked for {len(times)} '
                           f'of {steps} batches')
    return dict(step_time_s=statistics.median(times[warmup:]),
                threads=torch.get_num_threads(),
                operator_ms=load_benchmark_tool().operator_times(loader.profiler, iters)
                if profile else None)


def measure_ours(config, cfg_options, batch_size, warmup, iters, threads, profile=False):
    """``tools/benchmark.py``'s measurement of our step (run in this process)."""
    _prepare_process(threads)
    args = SimpleNamespace(batch_size=batch_size, warmup=warmup, iters=iters, device='cpu',
                           input_size=[IMAGE_SIZE], cudnn_benchmark=False, tensor_memory=False,
                           profile=profile)
    result = load_benchmark_tool().measure(config, args, cfg_options)
    return dict(step_time_s=result['step_time_s'], threads=result['threads'],
                operator_ms=result['operator_ms'])


def in_fresh_process(function, *args):
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def main(argv=None):
    args = parse_args(argv)
    load = os.getloadavg()[0]
    ours, official = [], []
    for _ in range(args.rounds):
        ours.append(in_fresh_process(measure_ours, args.config, args.cfg_options,
                                     args.batch_size, args.warmup, args.iters, args.threads))
        official.append(in_fresh_process(measure_official, args.method, args.official_root,
                                         args.batch_size, args.warmup, args.iters,
                                         args.threads))
    ratios = [a['step_time_s'] / b['step_time_s'] for a, b in zip(ours, official)]
    ours_s = statistics.median(r['step_time_s'] for r in ours)
    official_s = statistics.median(r['step_time_s'] for r in official)
    summary = dict(
        method=args.method, config=args.config, official_repository=METHODS[args.method][0],
        official_root=args.official_root, batch_size=args.batch_size, warmup=args.warmup,
        iters=args.iters, rounds=args.rounds, threads=ours[0]['threads'],
        torch=torch.__version__, load_average_1min=[load, os.getloadavg()[0]],
        ours_step_time_s=ours_s, official_step_time_s=official_s,
        ratio=ours_s / official_s, ratio_per_round=ratios,
        ours_step_time_s_per_round=[r['step_time_s'] for r in ours],
        official_step_time_s_per_round=[r['step_time_s'] for r in official])
    print(f"{args.method}: ours {ours_s * 1e3:.1f} ms, official ({summary['official_repository']}) "
          f"{official_s * 1e3:.1f} ms per step, x official {summary['ratio']:.2f} "
          f"(rounds {min(ratios):.2f}-{max(ratios):.2f}); batch {args.batch_size}, "
          f"{summary['threads']} threads, {args.warmup} warm-up + {args.iters} timed steps, "
          f"{args.rounds} round(s), torch {torch.__version__}, 1-min load average "
          f"{load:.2f} -> {summary['load_average_1min'][1]:.2f}")
    print('per round (ours / official ms): ' + ', '.join(
        f"{a * 1e3:.0f}/{b * 1e3:.0f}" for a, b in zip(summary['ours_step_time_s_per_round'],
                                                       summary['official_step_time_s_per_round'])))
    if args.profile:
        common = (args.batch_size, args.warmup, args.iters, args.threads, True)
        profiles = [('ours', in_fresh_process(measure_ours, args.config, args.cfg_options,
                                              *common)['operator_ms']),
                    ('official', in_fresh_process(measure_official, args.method,
                                                  args.official_root, *common)['operator_ms'])]
        load_benchmark_tool().print_operator_times(profiles)
        summary['operator_ms'] = dict(profiles)
    if args.json:
        sys.path.insert(0, REPO_ROOT)
        from mmselfkd.utils.fileio import atomic_write
        with atomic_write(args.json, 'w') as f:
            json.dump(summary, f, indent=2)


if __name__ == '__main__':
    main()
