"""Run ralph's LRS (file backend) on 127.0.0.1:PORT, appending to its statements file.

Started by tests/xapi/lrs.py with ralph's own Python (.venv-lrs: ralph pins an older FastAPI
than the server, so it lives in its own environment). Ralph's file backend writes in create
mode, which refuses a second POST; append mode keeps every batch.
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

if __name__ == "__main__":
    uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
