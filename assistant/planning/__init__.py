"""Service plans: drafting (LLM through LangChain, or the offline drafter), grounding, prompts."""
