"""Time the full training step of a config on synthetic inputs, and count its cost.

    python tools/benchmark.py CONFIG [--batch-size B] [--iters N] [--warmup W]
                              [--device cpu|cuda] [--input-size S] [--compare CONFIG2]
                              [--cfg-options k=v ...] [--compare-cfg-options k=v ...]
                              [--cudnn-benchmark] [--rounds R] [--tensor-memory] [--profile]
                              [--json OUT]

One step = data preprocessor + forward of every network the method runs + backward +
optimizer step(s), i.e. ``model.train_step`` with the config's optimizer wrapper, exactly
what the Runner calls. After ``--warmup`` steps, ``--iters`` steps are timed and the median
is reported, with images/s, peak memory (CUDA: max allocated; CPU: peak RSS; each config
is measured in a fresh process, and the memory before the first step is reported beside the
peak), parameter counts and forward FLOPs per image of the training graph (``loss`` mode,
every auxiliary network included) and of the deployable model (``tensor`` mode).
``--tensor-memory`` also runs one more step, untimed, and reports the peak of the memory held
by the tensors that the step allocates (activations, gradients, temporaries), above those
alive when it starts: on the CPU from the memory events of ``torch.profiler`` (without the
libraries and the allocator's free space that the RSS includes), on CUDA from
``max_memory_allocated``. ``--profile`` runs the timed steps under ``torch.profiler``
(which slows them: the step times of such a run are not comparable with others) and prints
the CPU time per step of each kind of operator (:func:`operator_times`).
Weights keep their constructor initialisation (``init_cfg`` is not applied, so nothing is
downloaded); mmseg configs are measured at ``--input-size`` (the data preprocessor's fixed
``size`` is set to it).
FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and
matrix products, like mmengine's analysis; MACs = FLOPs / 2). ``--compare`` runs a second
config (e.g. the baseline) and prints both rows and their ratios; ``--rounds R`` measures the
pair R times, alternating, and reports the median step times. CPU runs reuse freed memory
as ``tools/train.py`` does (:func:`mmselfkd.utils.launch.reuse_freed_cpu_memory`), for every
config alike. A config's ``compile`` (``--cfg-options compile=True``, and
``--compare-cfg-options compile=True`` for the second config) wraps ``train_step`` in
``torch.compile`` as the Runner does; the compilation falls in the warm-up steps.
"""
import argparse
import copy
import json
import multiprocessing
import random
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.utils import import_modules_from_strings
from torch.utils.flop_counter import FlopCounterMode

import mmselfkd  # noqa: F401
from mmselfkd.utils.fileio import atomic_write
from mmselfkd.utils.launch import reuse_freed_cpu_memory


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark a training step')
    parser.add_argument('config')
    parser.add_argument('--compare', metavar='CONFIG2', help='a second config, e.g. baseline')
    parser.add_argument('--batch-size', type=int, help='images per step (default: config)')
    parser.add_argument('--iters', type=int, default=10, help='timed steps')
    parser.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--input-size', type=int, nargs='+',
                        help='H [W] of the synthetic images (default: from the pipeline)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of CONFIG')
    parser.add_argument('--compare-cfg-options', nargs='+', action=DictAction,
                        help='override settings of CONFIG2')
    parser.add_argument('--cudnn-benchmark', action='store_true',
                        help='let cuDNN pick the fastest kernels (torch.backends.cudnn.benchmark)')
    parser.add_argument('--rounds', type=int, default=1,
                        help='measure the config(s) this many times, alternating, each time in '
                        'a fresh process; the step time reported is the median over rounds '
                        '(steadier ratios on a machine whose speed drifts)')
    parser.add_argument('--tensor-memory', action='store_true',
                        help='run one more step, untimed, and report the peak memory of the '
                        'tensors it allocates (CPU: from torch.profiler memory events)')
    parser.add_argument('--profile', action='store_true',
                        help='run the timed steps under torch.profiler and print the CPU time '
                        'per step of each kind of operator (slower steps)')
    parser.add_argument('--json', help='also write the results to this file')
    return parser.parse_args()


def infer_input_size(cfg):
    """Training crop size of the config's pipeline (``crop_size``/``scale``), else 224."""
    def find(value):
        if isinstance(value, dict):
            for key in ('crop_size', 'scale'):
                if key in value and value.get('type') not in ('RandomResize', 'Resize'):
                    size = value[key]
                    return (size, size) if isinstance(size, int) else tuple(size)
            for item in value.values():
                found = find(item)
                if found:
                    return found
        if isinstance(value, (list, tuple)):
            for item in value:
                found = find(item)
                if found:
                    return found
        return None
    if isinstance(cfg.get('crop_size'), (list, tuple)):
        return tuple(cfg.crop_size)
    return find(cfg.get('train_dataloader', {}).get('dataset', {})) or (224, 224)


def synthetic_batch(scope, model, batch_size, size, num_classes):
    """A batch as the dataloader would give it: uint8 images and ground truth."""
    h, w = size
    inputs = torch.randint(0, 256, (batch_size, 3, h, w), dtype=torch.uint8)
    if scope == 'mmpretrain':
        from mmpretrain.structures import DataSample
        samples = [DataSample().set_gt_label(i % num_classes) for i in range(batch_size)]
        return dict(inputs=inputs, data_samples=samples)
    if scope == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for i in range(batch_size):
            sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                                 pad_shape=(h, w)))
            sample.gt_sem_seg = PixelData(
                data=torch.randint(0, num_classes, (1, h, w), dtype=torch.long))
            samples.append(sample)
        return dict(inputs=list(inputs), data_samples=samples)
    if scope == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        packed = demo_mm_inputs(batch_size, [[3, h, w]] * batch_size, num_items=[3] * batch_size,
                                num_classes=num_classes)
        return packed
    raise ValueError(f'benchmark supports mmpretrain, mmseg and mmdet configs, not {scope!r}')


def _set_seg_preprocessor_size(model_cfg, size):
    """Set ``size`` of every ``data_preprocessor`` inside the (possibly wrapped) model config."""
    if isinstance(model_cfg, dict):
        for key, value in model_cfg.items():
            if key == 'data_preprocessor' and isinstance(value, dict) and 'size' in value:
                value['size'] = tuple(size)
            else:
                _set_seg_preprocessor_size(value, size)


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def measure(config, args, cfg_options=None):
    # the same weights and synthetic batch (mmdet's demo boxes) in every process and round
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope', 'mmpretrain')
    init_default_scope(scope)
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    size = tuple(args.input_size) if args.input_size else infer_input_size(cfg)
    size = (size[0], size[-1])
    if scope == 'mmseg':
        # SegDataPreProcessor pads every batch to its `size` (the crop): follow --input-size
        _set_seg_preprocessor_size(model_cfg, size)
    # Constructor initialisation only: init_cfg (e.g. ImageNet-pretrained backbones, which
    # would be downloaded) does not change the cost of a step.
    model = MODELS.build(model_cfg).to(args.device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    batch_size = args.batch_size or cfg.train_dataloader.batch_size
    num_classes = (cfg.get('data_preprocessor') or {}).get('num_classes') \
        or cfg.get('num_classes') or 10
    data = synthetic_batch(scope, model, batch_size, size, num_classes)
    deployable = getattr(model, 'deployable', model)

    # FLOPs of one forward: training graph (every network of the method) and deployable.
    with torch.no_grad():
        processed = model.data_preprocessor(copy.deepcopy(data), True)
        with FlopCounterMode(display=False) as counter:
            model(**processed, mode='loss')
        train_flops = counter.get_total_flops() / batch_size
        deployable.eval()
        with FlopCounterMode(display=False) as counter:
            deployable(processed['inputs'], mode='tensor')
        deploy_flops = counter.get_total_flops() / batch_size
        model.train()

    compile_cfg = cfg.get('compile')  # as the Runner does for `--cfg-options compile=True`
    if compile_cfg:
        model.train_step = torch.compile(model.train_step,
                                         **(compile_cfg if isinstance(compile_cfg, dict) else {}))

    memory_before_mib = current_memory_mib(args.device)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times = []
    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) \
        if args.profile else None
    for step in range(args.warmup + args.iters):
        batch = copy.deepcopy(data)
        if step == args.warmup and profiler is not None:
            profiler.start()
        if args.device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        if args.device == 'cuda':
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    operators = None
    if profiler is not None:
        profiler.stop()
        operators = operator_times(profiler, args.iters)
    step_time = statistics.median(times)
    if args.device == 'cuda':
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
        memory_kind = 'max allocated'
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        memory_kind = 'peak RSS'
    tensor_peak_mib = step_tensor_peak_mib(model, data, optim_wrapper, args.device) \
        if args.tensor_memory else None
    return dict(
        config=config, device=args.device, batch_size=batch_size, input_size=list(size),
        step_time_s=step_time, images_per_s=batch_size / step_time,
        peak_memory_mib=peak_mib, memory_kind=memory_kind, memory_before_mib=memory_before_mib,
        step_tensor_peak_mib=tensor_peak_mib,
        train_params_m=count_params(model) / 1e6,
        deploy_params_m=count_params(deployable) / 1e6,
        train_gflops_per_img=train_flops / 1e9, deploy_gflops_per_img=deploy_flops / 1e9,
        torch=torch.__version__, threads=torch.get_num_threads(), operator_ms=operators)


#: kinds of operators in :func:`operator_times`: the first whose pattern is in the name
OPERATOR_KINDS = (('convolution', ('conv',)),
                  ('normalisation', ('batch_norm', 'layer_norm', 'group_norm')),
                  ('matrix product', ('addmm', 'aten::mm', 'aten::bmm', 'linear')))
#: the profiler ranges of ``torch.optim`` steps (the operators inside them are updates)
OPTIMIZER_RANGE = 'Optimizer.step'


def operator_kind(event) -> str:
    """``'optimizer update'`` for an optimizer's step and the operators inside it, else the
    kind of :data:`OPERATOR_KINDS` its name matches, else ``'other'``."""
    node = event
    while node is not None:
        if node.name.startswith(OPTIMIZER_RANGE):
            return 'optimizer update'
        node = node.cpu_parent
    for kind, patterns in OPERATOR_KINDS:
        if any(pattern in event.name for pattern in patterns):
            return kind
    return 'other'


def operator_times(profiler, steps):
    """The self CPU time (ms per step) of every operator a profiler recorded over ``steps``
    steps (forward and backward: the CPU autograd engine runs in the calling thread), and
    their sums per kind of operator (:func:`operator_kind`) under ``'kind:<name>'``."""
    times = {}
    for event in profiler.events():
        if event.self_cpu_time_total > 0:
            ms = event.self_cpu_time_total / 1e3 / steps
            for key in (event.name, 'kind:' + operator_kind(event)):
                times[key] = times.get(key, 0.0) + ms
    return times


def print_operator_times(named_results, top=12):
    """A table of the CPU time per step of each kind of operator and of the ``top``
    operators that differ most, one column per (name, ``operator_ms``)."""
    names = [name for name, _ in named_results]
    tables = [ops for _, ops in named_results]
    print('CPU time per step (ms, under torch.profiler) by kind of operator:')
    print('| kind | ' + ' | '.join(names) + ' |\n|---|' + '---|' * len(names))
    kinds = [kind for kind, _ in OPERATOR_KINDS] + ['optimizer update', 'other']
    for kind in kinds + ['all']:
        values = [sum(v for k, v in ops.items() if k.startswith('kind:')) if kind == 'all'
                  else ops.get('kind:' + kind, 0.0) for ops in tables]
        print(f'| {kind} | ' + ' | '.join(f'{v:.1f}' for v in values) + ' |')
    operators = {k for ops in tables for k in ops if not k.startswith('kind:')}
    spread = sorted(operators, key=lambda k: -(max(ops.get(k, 0.0) for ops in tables)
                                                - min(ops.get(k, 0.0) for ops in tables)))
    print(f'the {top} operators whose times differ most:')
    print('| operator | ' + ' | '.join(names) + ' |\n|---|' + '---|' * len(names))
    for name in spread[:top]:
        print(f'| {name} | ' + ' | '.join(f'{ops.get(name, 0.0):.1f}' for ops in tables) + ' |')


def current_memory_mib(device):
    """CUDA: the memory allocated now; CPU: the resident set size now."""
    if device == 'cuda':
        return torch.cuda.memory_allocated() / 2**20
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')  # not Linux


def step_tensor_peak_mib(model, data, optim_wrapper, device):
    """Peak memory of the tensors allocated during one more training step, above those alive
    when it starts (CPU: the running sum of the profiler's allocation and free events)."""
    batch = copy.deepcopy(data)
    if device == 'cuda':
        start = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        model.train_step(batch, optim_wrapper)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - start) / 2**20
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                profile_memory=True) as profiler:
        model.train_step(batch, optim_wrapper)
    # the raw allocation (+) and free (-) events; FunctionEvents net them per operator
    events = sorted((e.start_ns(), e.nbytes()) for e in profiler.profiler.kineto_results.events()
                    if e.name() == '[memory]' and e.device_type() == torch.autograd.DeviceType.CPU)
    held = peak = 0
    for _, change in events:
        held += change
        peak = max(peak, held)
    return peak / 2**20


def _measure_job(config, args, cfg_options):
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    if args.device == 'cpu':
        reuse_freed_cpu_memory()  # as tools/train.py does for CPU runs
    return measure(config, args, cfg_options)


def measure_in_fresh_process(config, args, cfg_options):
    """One process per config, so that peak memory (RSS or CUDA) is that config's alone."""
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_measure_job, config, args, cfg_options).result()


def combine_rounds(measurements):
    """One result per config: the median step time over rounds, the largest peak memory."""
    result = dict(measurements[0])
    result['step_time_s'] = statistics.median(m['step_time_s'] for m in measurements)
    result['images_per_s'] = result['batch_size'] / result['step_time_s']
    for key in ('peak_memory_mib', 'step_tensor_peak_mib'):
        values = [m[key] for m in measurements if m[key] is not None]
        result[key] = max(values) if values else None
    result['step_time_s_per_round'] = [m['step_time_s'] for m in measurements]
    if result['operator_ms'] is not None:  # the median over rounds of each operator's time
        names = set().union(*(m['operator_ms'] for m in measurements))
        result['operator_ms'] = {name: statistics.median(m['operator_ms'].get(name, 0.0)
                                                         for m in measurements)
                                 for name in sorted(names)}
    return result


HEADER = ('| config | device | batch | step (ms, median) | img/s | peak mem (MiB) | '
          'train params (M) | deploy params (M) | train GFLOPs/img | deploy GFLOPs/img |\n'
          '|---|---|---|---|---|---|---|---|---|---|')


def row(r):
    memory = (f"{r['peak_memory_mib']:.0f} ({r['memory_kind']}; {r['memory_before_mib']:.0f} "
              'before the first step')
    if r['step_tensor_peak_mib'] is not None:
        memory += f"; step tensors {r['step_tensor_peak_mib']:.0f}"
    return (f"| {r['config']} | {r['device']} | {r['batch_size']} | {r['step_time_s'] * 1e3:.1f} "
            f"| {r['images_per_s']:.1f} | {memory}) "
            f"| {r['train_params_m']:.3f} | {r['deploy_params_m']:.3f} "
            f"| {r['train_gflops_per_img']:.3f} | {r['deploy_gflops_per_img']:.3f} |")


def main():
    args = parse_args()
    jobs = [(args.config, args.cfg_options)]
    if args.compare:
        jobs.append((args.compare, args.compare_cfg_options))
    if args.rounds < 1:
        raise SystemExit(f'error: --rounds must be >= 1, got {args.rounds}')
    rounds = [[measure_in_fresh_process(config, args, options) for config, options in jobs]
              for _ in range(args.rounds)]
    results = [combine_rounds([r[index] for r in rounds]) for index in range(len(jobs))]
    print(f"torch {results[0]['torch']}, {results[0]['threads']} threads, "
          f"input {results[0]['input_size']}, {args.warmup} warm-up + {args.iters} timed steps, "
          f"cudnn.benchmark={args.cudnn_benchmark}, {args.rounds} round(s)")
    print(HEADER)
    for r in results:
        print(row(r))
    if args.profile:
        print_operator_times([(r['config'], r['operator_ms']) for r in results])
    summary = {'results': results}
    if args.compare:
        a, b = results
        ratios = dict(
            step_time=a['step_time_s'] / b['step_time_s'],
            train_flops=a['train_gflops_per_img'] / b['train_gflops_per_img'],
            deploy_params=a['deploy_params_m'] / b['deploy_params_m'],
            deploy_flops=a['deploy_gflops_per_img'] / b['deploy_gflops_per_img'],
            peak_memory=a['peak_memory_mib'] / b['peak_memory_mib'])
        ratios['step_time_over_flops'] = ratios['step_time'] / ratios['train_flops']
        if args.rounds > 1:
            pairs = zip(a['step_time_s_per_round'], b['step_time_s_per_round'])
            per_round = [x / y for x, y in pairs]
            print('step-time ratio per round: ' + ', '.join(f'{r:.2f}' for r in per_round))
        summary['ratios'] = ratios
        print(f"ratios (first / second): step time {ratios['step_time']:.2f}x, "
              f"peak memory {ratios['peak_memory']:.2f}x, "
              f"training FLOPs {ratios['train_flops']:.2f}x, "
              f"step-time ratio / FLOPs ratio {ratios['step_time_over_flops']:.2f}, "
              f"deployable params {ratios['deploy_params']:.3f}x, "
              f"deployable FLOPs {ratios['deploy_flops']:.3f}x")
    if args.json:
        with atomic_write(args.json, 'w') as f:
            json.dump(summary, f, indent=2)


if __name__ == '__main__':
    main()
