"""Errors raised by the recorder and the recording reader.

Every failure a user can cause (wrong file, damaged file, full disk, bad
setting) is a :class:`RecordingError` subclass whose message is one line
naming the file and what is wrong, fit to print as-is from the CLI.
"""

from __future__ import annotations


class RecordingError(Exception):
    """Base class: a recording cannot be written or read."""


class NotARecordingError(RecordingError):
    """The file is not SQLite, or is SQLite without tapescope's tables."""


class SchemaVersionError(RecordingError):
    """The file was written by a newer tapescope (schema version above ours)."""


class CorruptRecordingError(RecordingError):
    """The file is truncated or its pages are damaged."""


class EmptyRecordingError(RecordingError):
    """The recording holds no messages."""


class MissingPartError(RecordingError):
    """A rotated recording set has a file missing, or files from different sessions."""


class OutputPathError(RecordingError):
    """The output path cannot be created or written (missing folder, permissions, exists)."""


class DiskFullError(RecordingError):
    """SQLite reported the disk (or the file's size limit) full while recording."""


class RecorderSettingError(RecordingError, ValueError):
    """A recorder setting such as a rotation size or interval cannot be parsed."""
