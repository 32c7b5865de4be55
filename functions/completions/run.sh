#!/bin/sh
# Lambda Web Adapter (/opt/bootstrap, via AWS_LAMBDA_EXEC_WRAPPER) runs this instead of the
# Python runtime's handler loop, then proxies each invoke to uvicorn on loopback as HTTP.
# Name the import path here rather than rely on what the runtime set before the wrapper took
# over: this function's code, the layers (/opt/python: dependencies and onerouter), the runtime.
PYTHONPATH="${LAMBDA_TASK_ROOT:-$(dirname "$0")}:/opt/python${LAMBDA_RUNTIME_DIR:+:$LAMBDA_RUNTIME_DIR}${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
exec python -m uvicorn app:app --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log --log-level warning
