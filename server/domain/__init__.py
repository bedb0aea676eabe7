"""Pure domain core: state machines that take commands and return events.

Nothing in this package performs I/O. Time (``now``) and randomness are passed in.
"""
