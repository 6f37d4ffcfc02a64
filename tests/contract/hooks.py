"""schemathesis hooks: a live session for the operations that need one.

The fuzzer signs itself out (logout, revoking its own session, an admin signing everyone out)
and throttles its own account with bad passwords, exactly as a careless client would. So the
token is not fixed: this provider signs in again whenever an answer is 401 (schemathesis then
refetches), as a second client would. It connects from another loopback address (the per-IP
limits count the fuzzer's own sign-ins against 127.0.0.1) and presents the trusted-device token
of its first sign-in, so the account throttle the fuzzer trips does not hold it up: the same
path the account's owner takes while an attacker guesses. Nothing in the server is switched off.
"""

import http.client
import json
import os
import time
from urllib.parse import urlsplit

import schemathesis

BASE = urlsplit(os.environ["LATCHKEY_BASE"])
USERNAME = os.environ["FUZZ_USERNAME"]
PASSWORD = os.environ["FUZZ_PASSWORD"]
SOURCE = os.environ.get("FUZZ_SIGN_IN_FROM", "127.0.0.2")


def sign_in(device_token):
    body = {"username": USERNAME, "password": PASSWORD}
    if device_token:
        body["device_token"] = device_token
    for _ in range(30):
        connection = http.client.HTTPConnection(
            BASE.hostname, BASE.port, timeout=30, source_address=(SOURCE, 0)
        )
        connection.request(
            "POST",
            "/api/auth/login",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        answer = json.loads(response.read() or b"null")
        connection.close()
        if response.status == 200:
            return answer
        if response.status == 429:
            time.sleep(int(response.getheader("Retry-After", "1")))
            continue
        raise RuntimeError(f"signing in as {USERNAME} failed: {response.status} {answer}")
    raise RuntimeError(f"signing in as {USERNAME} kept being throttled")


@schemathesis.auth()
class FreshSession:
    def __init__(self):
        self.device_token = None

    def get(self, case, context):
        answer = sign_in(self.device_token)
        self.device_token = answer.get("device_token") or self.device_token
        return answer["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
