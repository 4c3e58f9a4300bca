"""Service plans: drafting (LLM through LangChain, or the offline drafter), grounding, prompts.

``service.PlanningService`` (draft / revise) · ``offline`` (deterministic drafter, templates in
``prompts/offline_plan.yaml``) · ``llm`` (ChatOpenAI adapter, structured output, repair, fallback) ·
``grounding`` (only eligible, active resources) · ``extraction`` (optional LLM need extractor) ·
``prompts`` (prompt files with id and hash) · ``render`` (a plan as Chinese text) · ``schemas``.
"""
