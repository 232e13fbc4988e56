"""``tools/benchmark.py`` as a module, for the analysis scripts beside this file."""
import functools
import importlib.util
import os.path as osp

BENCHMARK_SCRIPT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'benchmark.py')


@functools.lru_cache(maxsize=None)
def load_benchmark_tool():
    """Import ``tools/benchmark.py`` (a script, not a package module) once and return it."""
    spec = importlib.util.spec_from_file_location('mmselfkd_benchmark_tool', BENCHMARK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
