"""mmselfkd: self- and online knowledge distillation for OpenMMLab 2.x."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith(('#', '-'))]


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
    license='Apache License 2.0',
    zip_safe=False,
)
