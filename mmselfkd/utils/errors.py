"""Errors whose message tells the user what to change; the tools print it without a
traceback and exit with status 1.

:class:`SetupError` and its subclasses are raised before training starts (config, data,
files); :class:`NonFiniteLossError` stops a run that diverged.
"""


class SetupError(Exception):
    """A config value, dataset or file that cannot work; the message says what to change."""


class ConfigError(SetupError, ValueError):
    """A config field has a value that cannot work; the message names the field."""


class DataError(SetupError, ValueError):
    """Dataset files exist but do not hold what the config expects."""


class NonFiniteLossError(RuntimeError):
    """Training produced a non-finite loss or weights; the message says where."""
