"""Export the deployable network of a checkpoint as a plain, weights-only checkpoint.

    python tools/export.py CKPT OUT [--part model|backbone] [--config CONFIG] [--check CONFIG]

- ``--part model`` (default): the deployable classifier/segmentor/detector (FRSKD/MixSKD
  student, HSSAKD student or peer, FFSD leader) with its prefix stripped: a plain
  mmpretrain/mmseg/mmdet checkpoint for ``load_from`` or ``tools/test.py``.
- ``--part backbone``: only ``backbone.*``, for
  ``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``.
- ``--config``: the training config, when the checkpoint does not carry it (Runner
  checkpoints do).
- ``--check CONFIG``: build the model of a target mmpretrain/mmseg/mmdet config and report
  every missing, unexpected and mis-shaped key; exit with status 1 when the target's
  backbone would not load completely (``Pretrained`` itself only warns). OUT is written
  only when the check passes.

OUT is written atomically (a temporary file renamed when complete), and never onto the
checkpoint it is read from.
"""
import argparse
import os.path as osp
import sys

from mmselfkd.utils.export import (PARTS, build_exports, build_model_from_config,
                                   compare_state_dicts)
from mmselfkd.utils.fileio import save_atomic


def parse_args():
    parser = argparse.ArgumentParser(description='Export a deployable plain checkpoint')
    parser.add_argument('checkpoint', help='training checkpoint (Runner .pth)')
    parser.add_argument('out', help='output file')
    parser.add_argument('--part', choices=PARTS, default='model',
                        help='export the whole deployable model or only its backbone')
    parser.add_argument('--config', help='training config, if the checkpoint lacks meta.cfg')
    parser.add_argument('--check', metavar='CONFIG',
                        help='target config whose model must load the export')
    return parser.parse_args()


def check(exported: dict, config: str, part: str) -> bool:
    model = build_model_from_config(config)
    missing, unexpected, mismatched = compare_state_dicts(exported['state_dict'],
                                                          model.state_dict(), part)
    for title, keys in (('missing in the export', missing),
                        ('unexpected in the export', unexpected),
                        ('shape mismatch', mismatched)):
        print(f'{title}: {len(keys)}')
        for key in keys:
            print(f'    {key}')
    problems = missing + unexpected + mismatched
    if part == 'model':
        ok = not problems  # a plain checkpoint must load strictly
    else:
        ok = not any(k.startswith('backbone.') for k in problems)
    verdict = 'OK' if ok else 'FAILED: the model would not load completely'
    print(f'check against {config}: {verdict}')
    return ok


def main():
    args = parse_args()
    if osp.exists(args.out) and osp.samefile(args.out, args.checkpoint):
        sys.exit(f'error: OUT is the checkpoint itself ({args.out}); choose another name')
    exports, prefix = build_exports(args.checkpoint, [args.part], args.config)
    exported = exports[args.part]
    if args.check and not check(exported, args.check, args.part):
        sys.exit(f'error: {args.out} not written: the export does not fit {args.check}')
    save_atomic(exported, args.out)
    print(f'wrote {args.out}: {len(exported["state_dict"])} tensors '
          f'(part={args.part}, stripped prefix {prefix!r})')


if __name__ == '__main__':
    main()
