"""Launch helpers shared by the tools (train, test, benchmark)."""
import ctypes
import logging
import os
import sys

import torch
import torch.distributed as torch_dist
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel


def setup_cpu_distributed(cfg) -> None:
    """Make ``--launcher pytorch`` work on machines without CUDA (gloo, CPU DDP).

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and its default model
    wrapper passes ``device_ids=[LOCAL_RANK]``; both fail without a GPU. Here the process
    group is initialised with gloo from torchrun's environment (the Runner then skips its
    own ``init_dist``), and the DDP wrapper is built without ``device_ids``. On GPU machines
    this function does nothing.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    if issubclass(MODEL_WRAPPERS.get(wrapper['type']), DistributedDataParallel):
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
        # the Runner's default device_ids=[LOCAL_RANK] is for GPU modules only
        wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    # SyncBN needs CUDA; on gloo/CPU every process normalises its own batch, as BN does
    if _replace_sync_bn(cfg.model):
        print('setup_cpu_distributed: no CUDA, SyncBN layers are built as BN', flush=True)


def _replace_sync_bn(node) -> bool:
    """Turn every ``type='SyncBN'`` norm config inside ``node`` into ``'BN'``."""
    found = False
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            found = True
        for value in node.values():
            found = _replace_sync_bn(value) or found
    elif isinstance(node, (list, tuple)):
        for value in node:
            found = _replace_sync_bn(value) or found
    return found


def teardown_distributed() -> None:
    """End a finished distributed run; non-distributed runs return at once.

    Every rank waits for the others. A gloo run (CPU) then flushes its logs and exits with
    ``os._exit(0)``: seen with torch 2.14 on gloo, after a run that had finished and saved
    everything, one rank sometimes aborted during interpreter shutdown ("terminate called
    without an active exception", SIGABRT), which torchrun reports as a failed job, with or
    without ``destroy_process_group``; ``os._exit`` skips the C++ destructors that abort.
    Other backends (NCCL) destroy the process group and return normally.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    torch_dist.barrier()
    if torch_dist.get_backend() != torch_dist.Backend.GLOO:
        torch_dist.destroy_process_group()
        return
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def uses_mmpretrain_collate(cfg) -> bool:
    """mmpretrain's tools default the dataloaders to ``default_collate``; mmseg/mmdet do not."""
    return cfg.get('default_scope', 'mmpretrain') == 'mmpretrain'


def reuse_freed_cpu_memory() -> bool:
    """Let glibc keep and reuse freed memory in CPU runs instead of returning it to the kernel.

    PyTorch's CPU allocator has no cache: every activation is a ``malloc``, and glibc serves
    large ones with fresh ``mmap`` pages that it unmaps again on ``free``. The kernel then
    zero-fills each 4 KiB page of the next allocation on first touch. A training step whose
    activations do not fit glibc's adaptive threshold (FRSKD's BiFPN on CIFAR ResNet-18 at
    batch 32: ~1e5 page faults per step, measured) spends a tenth of its time there. With
    ``mallopt(M_MMAP_MAX=0)`` every block comes from the heap, and with
    ``M_TRIM_THRESHOLD`` at its maximum the heap is never shrunk, so each step reuses the
    pages of the last one (the resident memory stays at the peak, as during training
    anyway). The tools call this for runs without CUDA; ``MMSELFKD_REUSE_CPU_MEMORY=0``
    turns it off. Returns whether the settings were applied (glibc only).
    """
    if os.environ.get('MMSELFKD_REUSE_CPU_MEMORY', '1') == '0' or \
            not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:  # not glibc (e.g. musl)
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))
