"""The email assistant: a main agent and three triage prompts that learn per user."""
