"""Where each piece lives:

* ``algorithms/<method>.py``: the wrapper of one method (``FRSKD``, ``MixSKD``, ``HSSAKD``,
  ``FFSD``) and the assembly of its loss: which terms, on which outputs, with which weights
  and detaches;
* ``losses/``: the loss formulas, as functions of tensors (``kd_losses`` shared,
  ``<method>_losses`` of one method);
* ``self_teachers/``: the self-teacher networks (FRSKD's BiFPN, MixSKD's stage aggregator);
* ``aux_branches/``: the other training-only modules, attached to a network's stage maps;
* ``backbones/``: the CIFAR backbones mmpretrain lacks, ``<family>_cifar.py`` each;
* ``utils/``: what several algorithms use: the host-classifier helpers, rotations, init.
"""
from . import algorithms, aux_branches, backbones, losses, self_teachers, utils  # noqa: F401
from .algorithms import *  # noqa: F401,F403
from .aux_branches import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .self_teachers import *  # noqa: F401,F403
