import os.path as osp
import socket

import mmengine.dist as dist
from mmpretrain.datasets import CIFAR100 as _MMPretrainCIFAR100
from mmpretrain.datasets.utils import download_and_extract_archive

from mmselfkd.registry import DATASETS
from mmselfkd.utils.errors import SetupError


class DatasetNotFoundError(SetupError, FileNotFoundError):
    """A dataset is missing and cannot be downloaded; the message says where to put it."""


@DATASETS.register_module()
class CIFAR100(_MMPretrainCIFAR100):
    """mmpretrain's ``CIFAR100`` with a clear error when the data is missing offline.

    It reads the official ``cifar-100-python/{train,test,meta}`` pickles exactly like
    mmpretrain's class. Two differences:

    - when the files are missing and the download fails (no network), it raises at once with
      a message that says where to put ``cifar-100-python/`` instead of a urllib traceback;
    - ``verify_md5=False`` accepts files whose checksums differ from the official release
      (the tiny CIFAR-format sets that the tests generate). Keep the default ``True`` for
      real data.

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
        return super().load_data_list()
