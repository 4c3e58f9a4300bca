"""Conversations over cases: the workbench chat and the OpenAI-compatible face (``/v1/chat/completions``)."""
