#!/usr/bin/env python3
"""Runs one sample client unchanged and records every HTTP exchange it makes through `requests`.

    trace_requests.py <sample.py>

Each response (or transport error) is appended as one JSON line to the file named by
$SEED_TRACE: {"method", "path", "status", "body"} ("status" is null and "error" set when no answer
came). The sample runs as __main__ with its own file name in sys.argv[0]; its exit status and
output are its own. Only observation: nothing the sample sends or receives is altered.
"""
import json
import os
import runpy
import sys
import urllib.parse

import requests.adapters

_trace_path = os.environ["SEED_TRACE"]
_send = requests.adapters.HTTPAdapter.send


def _record(entry):
    with open(_trace_path, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def _traced_send(self, request, *args, **kwargs):
    target = urllib.parse.urlsplit(request.url)
    path = target.path + ("?" + target.query if target.query else "")
    try:
        response = _send(self, request, *args, **kwargs)
    except Exception as e:  # recorded, then re-raised unchanged
        _record({"method": request.method, "path": path, "status": None, "error": repr(e)})
        raise
    _record(
        {
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "body": response.content.decode("utf-8", "replace"),
        }
    )
    return response


requests.adapters.HTTPAdapter.send = _traced_send

if __name__ == "__main__":
    sample = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(sample, run_name="__main__")
