"""Recomputing training-only modules in the backward pass (the algorithms' memory-saving mode).

A training step keeps every activation that the backward pass needs until the backward pass
reaches it. The self-teachers, auxiliary branches and peers of the self-distillation methods
multiply those activations. :func:`recompute_in_backward` runs a module without keeping its
activations and runs it again, inside the backward pass, when its gradients are due
(``torch.utils.checkpoint`` without reentrant autograd): the same outputs, losses and
gradients for one more forward pass of that module.

Two side effects of a forward pass must not happen twice:

- BatchNorm in training mode updates its running statistics (and ``num_batches_tracked``) on
  every call. The recomputation updates throw-away copies of them
  (:func:`frozen_running_stats`), so the statistics are updated once, by the first forward
  pass, exactly as without recomputation.
- Random operators (dropout, drop-path) draw new numbers on every call. The recomputation
  starts from the random state of the first forward pass (``preserve_rng_state=True``, the
  checkpoint default, kept here) and the global random state is restored afterwards.
"""
import contextlib
from typing import Any, Callable, Iterable, Iterator, List, Tuple

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


#: the buffers a normalisation layer updates in a training-mode forward pass
RUNNING_STATS = ('running_mean', 'running_var', 'num_batches_tracked')


@contextlib.contextmanager
def frozen_running_stats(modules: Iterable[nn.Module]) -> Iterator[None]:
    """Within the context, the normalisation layers of ``modules`` (BatchNorm, SyncBatchNorm,
    InstanceNorm with ``track_running_stats``) update copies of their running statistics,
    which are dropped at the end: their buffers keep their values (and tensors).

    The layers still run their usual code, so they compute and save for the backward pass
    exactly what they did in the first forward pass (a layer that stopped tracking would
    save fewer tensors, which the recomputation check refuses).
    """
    originals: List[Tuple[nn.Module, str, Tensor]] = []
    for module in modules:
        for layer in module.modules():
            if getattr(layer, 'track_running_stats', False) is not True or not layer.training:
                continue
            for name in RUNNING_STATS:
                buffer = layer._buffers.get(name)
                if buffer is not None:
                    originals.append((layer, name, buffer))
                    layer._buffers[name] = buffer.clone()
    try:
        yield
    finally:
        for layer, name, buffer in originals:
            layer._buffers[name] = buffer


def recompute_in_backward(function: Callable[..., Any], *args, modules: Iterable[nn.Module],
                          enabled: bool = True) -> Any:
    """``function(*args)`` whose activations are recomputed in the backward pass instead of
    kept.

    Args:
        function: a forward pass of ``modules`` (a module or a function that calls them).
        *args: its inputs. Pass tensors as separate arguments, not in a list: autograd then
            refuses a recomputation from inputs that were changed in place after this call.
        modules: the modules ``function`` runs; their running statistics are updated by the
            first pass only.
        enabled: recompute; False runs ``function`` as usual. Defaults to True.

    Returns:
        What ``function(*args)`` returns. Without autograd (``torch.no_grad()``) or when not
        ``enabled``, ``function`` just runs.
    """
    if not enabled or not torch.is_grad_enabled():
        return function(*args)
    modules = list(modules)
    return checkpoint(
        function, *args, use_reentrant=False, preserve_rng_state=True,
        context_fn=lambda: (contextlib.nullcontext(), frozen_running_stats(modules)))
