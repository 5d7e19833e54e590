"""Trials: the organisation's own prompts through each shortlisted model, checked and timed."""
