"""The one thing pyproject.toml cannot say without an experimental table: the C send step.

streaming/_rtp_send.c is optional: without a C compiler the install still succeeds and
streaming/rtp_fanout.py sends in Python (slower, the same packets).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "streaming._rtp_send",
            sources=["streaming/_rtp_send.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
