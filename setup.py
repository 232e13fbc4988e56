"""mmselfkd: self- and online knowledge distillation for OpenMMLab 2.x."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
# shipped inside the package as OpenMMLab projects do, so that `mmselfkd::<folder>/<name>.py`
# config bases and `mim train mmselfkd ...` find them in an installed wheel
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith(('#', '-'))]


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FILES` into ``mmselfkd/.mim`` of the build.

    The copy goes to the build directory only, never into the source tree. An editable
    install needs none: it reads ``configs/`` beside the package.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        mim_dir = osp.join(self.build_lib, 'mmselfkd', '.mim')
        for name in MIM_FILES:
            src, dst = osp.join(ROOT, name), osp.join(mim_dir, name)
            if osp.isdir(dst):
                shutil.rmtree(dst)
            if osp.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                os.makedirs(mim_dir, exist_ok=True)
                shutil.copyfile(src, dst)


def get_version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'mmselfkd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmselfkd',
    version=get_version(),
    description='Teacher-free (self- and online) knowledge distillation for OpenMMLab 2.x: '
    'FRSKD, MixSKD, HSSAKD and FFSD for mmpretrain, mmseg and mmdet models',
    long_description=open(osp.join(osp.dirname(__file__), 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'seg_det': read_requirements('mminstall.txt'),
        'tests': read_requirements('tests.txt'),
    },
    cmdclass={'build_py': BuildPyWithMim},
    license='Apache License 2.0',
    zip_safe=False,
)
