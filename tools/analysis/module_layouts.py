"""Time each module of a training step in the contiguous and the channels-last memory format.

    python tools/analysis/module_layouts.py CONFIG [--batch-size 16] [--depth 3]
        [--modules NAME ...] [--iters 5] [--warmup 2] [--rounds 2] [--cfg-options k=v ...]

One ``loss`` forward of the config's model on a synthetic batch (as ``tools/benchmark.py``
builds it) records the inputs of every module that the step calls with a 4-D tensor (up to
``--depth`` dots in its name, or the ``--modules`` given). Each such module then runs
forward and backward (the gradient of the sum of its outputs) on those inputs, in training
mode, with its 4-D inputs first in the contiguous format and then in channels-last
(``torch.channels_last``); the parameters keep their format, as in the training step, where
only the activations change format. The module's own ``forward`` runs, without the hooks
on it (e.g. :func:`~mmselfkd.models.utils.keep_small_maps_contiguous`), so that both
formats are timed as given. The median times over ``--iters`` repetitions, the
faster of ``--rounds`` alternations, and their ratio (channels-last / contiguous) are
printed per module. A module called several times in a step is timed on its first call.
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import time
from typing import Any, Dict, List

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # benchmark_tool.py beside this file
from benchmark_tool import load_benchmark_tool  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Time every module of a training step in the '
                                     'contiguous and the channels-last memory format')
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--depth', type=int, default=3,
                        help='time the modules with at most this many dots in their name')
    parser.add_argument('--modules', nargs='+', help='time these modules only')
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _map(value: Any, function) -> Any:
    """``function`` applied to every tensor inside lists, tuples and dicts."""
    if isinstance(value, torch.Tensor):
        return function(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_map(item, function) for item in value)
    if isinstance(value, dict):
        return {key: _map(item, function) for key, item in value.items()}
    return value


def _tensors(value: Any) -> List[torch.Tensor]:
    found = []
    _map(value, lambda t: found.append(t) or t)
    return found


def record_module_inputs(model, data, names) -> Dict[str, tuple]:
    """``{name: (args, kwargs)}`` of the first call of each named module in one ``loss``."""
    recorded: Dict[str, tuple] = {}
    handles = []
    for name, module in model.named_modules():
        if name in names:
            def hook(module, args, kwargs, name=name):
                if name not in recorded:
                    recorded[name] = _map((args, kwargs), lambda t: t.detach().clone())
            handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        processed = model.data_preprocessor(copy.deepcopy(data), True)
        model(**processed, mode='loss')
    finally:
        for handle in handles:
            handle.remove()
    return recorded


def time_module(module, args, kwargs, memory_format, warmup, iters) -> float:
    """Median time of forward + backward of ``module`` on the inputs in ``memory_format``."""
    def prepare(t):
        if t.dim() == 4:
            t = t.contiguous(memory_format=memory_format)
        return t.requires_grad_() if t.is_floating_point() else t
    times = []
    for step in range(warmup + iters):
        call_args, call_kwargs = _map((args, kwargs), lambda t: prepare(t.clone()))
        start = time.perf_counter()
        # forward() itself: without the format hooks of the algorithm on this module
        outputs = [t for t in _tensors(module.forward(*call_args, **call_kwargs))
                   if t.requires_grad]
        if outputs:
            torch.autograd.backward(outputs, [torch.ones_like(t) for t in outputs])
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    benchmark = load_benchmark_tool()
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    import mmselfkd  # noqa: F401
    from mmselfkd.utils.launch import reuse_freed_cpu_memory
    reuse_freed_cpu_memory()
    torch.manual_seed(0)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope', 'mmpretrain')
    init_default_scope(scope)
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.train()
    size = benchmark.infer_input_size(cfg)
    num_classes = (cfg.get('data_preprocessor') or {}).get('num_classes') or 10
    data = benchmark.synthetic_batch(scope, model, args.batch_size, (size[0], size[-1]),
                                     num_classes)
    if args.modules:
        names = set(args.modules)
    else:
        names = {name for name, _ in model.named_modules()
                 if name and name.count('.') < args.depth}
    recorded = record_module_inputs(model, data, names)
    recorded = {name: inputs for name, inputs in recorded.items()
                if any(t.dim() == 4 for t in _tensors(inputs))}
    missing = sorted(names - set(recorded)) if args.modules else []
    if missing:
        raise SystemExit(f'--modules: {missing} are not called with a 4-D tensor in a step')
    print(f'{args.config}, batch {args.batch_size}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads; forward + backward, median of {args.iters} '
          f'after {args.warmup}, best of {args.rounds} rounds')
    print('| module | first 4-D input | contiguous ms | channels-last ms | ratio |\n'
          '|---|---|---|---|---|')
    modules = dict(model.named_modules())
    for name, (call_args, call_kwargs) in recorded.items():
        module = modules[name]
        results = {torch.contiguous_format: [], torch.channels_last: []}
        for _ in range(args.rounds):
            for memory_format in results:
                results[memory_format].append(time_module(module, call_args, call_kwargs,
                                                          memory_format, args.warmup,
                                                          args.iters))
        contiguous = min(results[torch.contiguous_format])
        channels_last = min(results[torch.channels_last])
        shape = next(tuple(t.shape) for t in _tensors((call_args, call_kwargs))
                     if t.dim() == 4)
        print(f'| {name} | {shape} | {contiguous * 1e3:.1f} | {channels_last * 1e3:.1f} '
              f'| {channels_last / contiguous:.2f} |')


if __name__ == '__main__':
    main()
