"""Condense a long compiler log on stdin into a heartbeat line a minute and every error.

Used by tools/install.sh while mmcv compiles (15-25 minutes on 2 cores), so the user sees
that the build is alive without a wall of compiler command lines.
"""
import sys
import time

start = last = time.time()
compiled = 0
for line in sys.stdin:
    if ' -c ' in line and any(cc in line for cc in ('gcc', 'g++', 'c++', 'nvcc')):
        compiled += 1
    if 'error:' in line:
        print(f'[mmcv build {time.time() - start:5.0f}s] {line.rstrip()[:300]}', flush=True)
    if time.time() - last >= 60:
        last = time.time()
        print(f'[mmcv build {last - start:5.0f}s] compiling ... {compiled} compiler calls so far',
              flush=True)
print(f'[mmcv build {time.time() - start:5.0f}s] finished ({compiled} compiler calls)', flush=True)
