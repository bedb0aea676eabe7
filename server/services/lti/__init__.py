"""The LTI 1.3 tool's adapters: keys, platform keys and service tokens, launches, grades and
roster sync (docs/lms.md)."""
