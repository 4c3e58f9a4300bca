"""Log redaction: with it installed, no logger of the process writes an identity or phone number."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from assistant.privacy import install_log_redaction, uninstall_log_redaction

ID_NUMBER = "420202194601011236"


@pytest.fixture
def redacting() -> Iterator[None]:
    install_log_redaction()
    install_log_redaction()  # idempotent
    yield
    uninstall_log_redaction()


def test_log_messages_and_arguments_are_redacted(redacting: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("any.library").info("case text: %s, phone %s", f"身份证{ID_NUMBER}", "13871234567")
    assert ID_NUMBER not in caplog.text and "13871234567" not in caplog.text
    assert "[身份证号]" in caplog.text and "[电话]" in caplog.text


def test_exception_text_is_redacted(redacting: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        try:
            raise ValueError(f"bad id {ID_NUMBER}")
        except ValueError:
            logging.getLogger("x").exception("failed")
    assert ID_NUMBER not in caplog.text and "ValueError" in caplog.text


def test_without_installation_nothing_changes(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("x").info("13871234567")
    assert "13871234567" in caplog.text
