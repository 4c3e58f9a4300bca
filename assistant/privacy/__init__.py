"""PII redaction: nothing identifying leaves the process (LLM, logs, eval reports) unredacted."""

from assistant.privacy.redact import redact, redact_names

__all__ = ["redact", "redact_names"]
