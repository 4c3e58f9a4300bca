"""PII redaction: nothing identifying leaves the process (LLM, logs, eval reports) unredacted."""

from assistant.privacy.log_redaction import install_log_redaction, uninstall_log_redaction
from assistant.privacy.redact import redact, redact_names

__all__ = ["install_log_redaction", "redact", "redact_names", "uninstall_log_redaction"]
