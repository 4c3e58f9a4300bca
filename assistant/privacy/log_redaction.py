"""Redaction of log records: once installed, no log line of the process carries an identity or phone number.

Installed as a LogRecord factory, so it covers every logger and handler (ours, uvicorn's, libraries'),
including handlers added later: the message and any exception text are redacted when the record is made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from assistant.privacy.redact import redact

_installed: Callable[..., logging.LogRecord] | None = None


def install_log_redaction() -> None:
    """Redact every log record from now on (idempotent). Call once at start-up (app, CLI)."""
    global _installed
    if _installed is not None:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's business, not ours
            return record
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    _installed = previous
    logging.setLogRecordFactory(factory)


def uninstall_log_redaction() -> None:
    """Restore the previous record factory (tests)."""
    global _installed
    if _installed is not None:
        logging.setLogRecordFactory(_installed)
        _installed = None
