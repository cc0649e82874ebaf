"""Store layer: the one place that knows namespaces, keys, record shapes and leases."""

from __future__ import annotations

from langchain_prompt_optimization.stores.io import (
    Job,
    StoreBatch,
    adrive,
    adrive_within,
    drive,
    drive_within,
)
from langchain_prompt_optimization.stores.layout import (
    DEFAULT_PREFIX,
    ActivePrompt,
    NewVersion,
    PinResult,
    StoreLayout,
    UserRef,
    decode_label,
    encode_label,
)
from langchain_prompt_optimization.stores.open import (
    aopen_store,
    default_store_uri,
    mask_uri,
    open_store,
)
from langchain_prompt_optimization.stores.records import (
    Example,
    FeedbackItem,
    FeedbackValue,
    PromptConfig,
    PromptSpec,
    PromptVersion,
    Retention,
    TrajectoryRecord,
    messages_from_json,
    messages_to_json,
)
from langchain_prompt_optimization.stores.usage import UsageCharge, UsageWindow, parse_window

__all__ = [
    "DEFAULT_PREFIX",
    "ActivePrompt",
    "Example",
    "FeedbackItem",
    "FeedbackValue",
    "Job",
    "NewVersion",
    "PinResult",
    "PromptConfig",
    "PromptSpec",
    "PromptVersion",
    "Retention",
    "StoreBatch",
    "StoreLayout",
    "TrajectoryRecord",
    "UsageCharge",
    "UsageWindow",
    "UserRef",
    "adrive",
    "adrive_within",
    "aopen_store",
    "decode_label",
    "default_store_uri",
    "drive",
    "drive_within",
    "encode_label",
    "mask_uri",
    "messages_from_json",
    "messages_to_json",
    "open_store",
    "parse_window",
]
