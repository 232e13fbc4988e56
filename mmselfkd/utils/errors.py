"""Errors about the user's setup (config, data, files), raised before training starts.

The tools print the message of a :class:`SetupError` without a traceback and exit with
status 1: the message, not the stack, tells the user what to change.
"""


class SetupError(Exception):
    """A config value, dataset or file that cannot work; the message says what to change."""


class ConfigError(SetupError, ValueError):
    """A config field has a value that cannot work; the message names the field."""


class DataError(SetupError, ValueError):
    """Dataset files exist but do not hold what the config expects."""
