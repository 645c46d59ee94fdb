"""tapescope.engine.recorder: record raw feed messages to SQLite and read them back.

* :mod:`~tapescope.engine.recorder.writer`: the async :class:`Recorder` (a raw-message tap).
* :mod:`~tapescope.engine.recorder.reader`: :class:`Recording`, ordered reads and seeking.
* :mod:`~tapescope.engine.recorder.schema`: tables, schema version, file validation, errors.
* :mod:`~tapescope.engine.recorder.inspect` / :mod:`~tapescope.engine.recorder.export`:
  summaries and CSV / Parquet export.
"""
