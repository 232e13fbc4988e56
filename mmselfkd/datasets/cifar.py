import os.path as osp
import pickle
import socket

import mmengine.dist as dist
import numpy as np
from mmengine.fileio import get, join_path
from mmpretrain.datasets import CIFAR100 as _MMPretrainCIFAR100
from mmpretrain.datasets.utils import download_and_extract_archive

from mmselfkd.registry import DATASETS
from mmselfkd.utils.errors import DataError, SetupError


class DatasetNotFoundError(SetupError, FileNotFoundError):
    """A dataset is missing and cannot be downloaded; the message says where to put it."""


@DATASETS.register_module()
class CIFAR100(_MMPretrainCIFAR100):
    """mmpretrain's ``CIFAR100`` with a clear error when the data is missing offline.

    It reads the official ``cifar-100-python/{train,test,meta}`` pickles exactly like
    mmpretrain's class. Three differences:

    - when the files are missing and the download fails (no network), it raises at once with
      a message that says where to put ``cifar-100-python/`` instead of a urllib traceback;
    - ``verify_md5=False`` accepts files whose checksums differ from the official release
      (the tiny CIFAR-format sets that the tests generate). Keep the default ``True`` for
      real data;
    - the pickles of the split are checked before use: ``N`` rows of ``3 * 32 * 32`` uint8
      values, ``N`` integer labels in ``[0, number of classes)``. mmpretrain reshapes any
      array into 32x32 images and pairs them with the labels by position, so a file in
      another layout would otherwise train on wrong images and labels without a word.

    Args:
        verify_md5: check the official md5 sums of the pickles. Defaults to True.
        download_timeout: seconds to wait for the download server. Defaults to 30.
        **kwargs: arguments of :class:`mmpretrain.datasets.CIFAR100`.
    """

    def __init__(self, *args, verify_md5: bool = True, download_timeout: float = 30.,
                 **kwargs):
        self.verify_md5 = verify_md5
        self.download_timeout = download_timeout
        super().__init__(*args, **kwargs)

    def _check_integrity(self):
        if self.verify_md5:
            return super()._check_integrity()
        root = self.data_prefix['root']
        return all(
            osp.isfile(osp.join(root, self.base_folder, name))
            for name, _ in self.train_list + self.test_list)

    def _missing_message(self, reason: str) -> str:
        folder = osp.abspath(osp.join(self.data_prefix['root'], self.base_folder))
        return (f'CIFAR-100 was not found at {folder} ({reason}). Download {self.url}, '
                f'extract it so that {folder}/train, {folder}/test and {folder}/meta exist '
                "(or set the config's data_root to the folder that contains "
                f'{self.base_folder}/), and start again.')

    def load_data_list(self):
        root = self.data_prefix['root']
        if dist.is_main_process() and not self._check_integrity():
            if not self.download:
                raise DatasetNotFoundError(self._missing_message('download=False'))
            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(self.download_timeout)
            try:
                download_and_extract_archive(
                    self.url, root, filename=self.filename, md5=self.tgz_md5)
            except Exception as error:  # no network, DNS failure, timeout, bad archive
                raise DatasetNotFoundError(
                    self._missing_message(f'the download failed: {error}')) from None
            finally:
                socket.setdefaulttimeout(previous)
        dist.barrier()  # the main process may still be downloading
        for name, _ in self.train_list if self.split == 'train' else self.test_list:
            self._check_file(join_path(root, self.base_folder, name))
        return super().load_data_list()

    def _check_file(self, path: str) -> None:
        """Raise :class:`DataError` unless ``path`` holds ``N`` CIFAR rows and ``N`` labels
        of this dataset's classes (read once more here: 0.15 s for the 50 000 train rows)."""
        entry = pickle.loads(get(path), encoding='latin1')
        label_key = 'labels' if isinstance(entry, dict) and 'labels' in entry else 'fine_labels'
        if not isinstance(entry, dict) or 'data' not in entry or label_key not in entry:
            found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise DataError(f'{path} is not a CIFAR pickle: expected a dict with "data" and '
                            f'"{label_key}", found {found}')
        data, labels = entry['data'], np.asarray(entry[label_key])
        expected = 3 * 32 * 32
        if not (isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == expected
                and data.dtype == np.uint8):
            found = (f'shape {tuple(data.shape)} of {data.dtype}'
                     if isinstance(data, np.ndarray) else type(data).__name__)
            raise DataError(f'{path}: "data" has {found}; CIFAR rows are 3x32x32 images, '
                            f'expected shape (N, {expected}) of uint8')
        if labels.shape != (len(data), ):
            raise DataError(f'{path}: {labels.size} labels in "{label_key}" for {len(data)} '
                            f'rows of "data"; expected one label per row')
        classes = self.CLASSES if self.CLASSES is not None else self.METAINFO['classes']
        num_classes = len(classes)
        if labels.size and (labels.dtype.kind not in 'iu' or labels.min() < 0
                            or labels.max() >= num_classes):
            raise DataError(f'{path}: "{label_key}" must be integers in [0, {num_classes}) '
                            f'(the {num_classes} classes of the dataset), found '
                            f'{labels.dtype} values from {labels.min()} to {labels.max()}')
