"""One headless Chromium for all the pages the browser check renders, driven over the DevTools
protocol on a pipe (``--remote-debugging-pipe``): no port, no extra package.

Starting a browser takes longer than rendering a page, and the check renders every chapter at two
widths; one browser that opens each page in turn, at a viewport of exactly the width wanted (the
device-metrics override, so no 500-pixel minimum window), measures it once MathJax has typeset it
and takes a screenshot of all of it does the work of 2 x 22 browser starts in one.
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
from pathlib import Path


class BrowserError(RuntimeError):
    """Chromium answered a command with an error, or went away."""


class Browser:
    """A headless Chromium; ``render(page, width, script, screenshot)`` measures one page."""

    def __init__(self, chromium: str, timeout: float = 120):
        self.timeout = timeout
        # Chromium reads commands from its file descriptor 3 and answers on 4.
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def plumb():
            # Copies first, in case either end is already 3 or 4; kept open by pass_fds.
            commands, answers = os.dup(commands_read), os.dup(answers_write)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        self._process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                "--no-first-run",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=plumb,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []

    def close(self) -> None:
        self._process.kill()
        self._process.wait()
        os.close(self._commands)
        os.close(self._answers)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # The protocol: one JSON object per message, each ended by a NUL byte.

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._answers], [], [], self.timeout)
            if not ready:
                raise BrowserError(f"Chromium did not answer within {self.timeout} s")
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and wait for its answer; events that arrive meanwhile are kept."""
        wanted = self._send(method, params, session)
        while True:
            message = self._receive()
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def wait_for(self, event: str, session: str) -> dict:
        """The next event ``event`` of ``session`` (one that arrived already counts)."""
        while True:
            for i, message in enumerate(self._events):
                if message.get("method") == event and message.get("sessionId") == session:
                    return self._events.pop(i)
            self._events.append(self._receive())

    def render(self, page: Path, width: int, script: str, screenshot: Path) -> dict:
        """Open ``page`` in a fresh tab ``width`` pixels wide, evaluate ``script`` (an expression
        whose promise resolves to the measurements), then write a screenshot of the whole page
        (at most 16,000 pixels high). Returns the measurements."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        session = session["sessionId"]
        try:
            self.call("Page.enable", session=session)
            metrics = {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
            self.call("Emulation.setDeviceMetricsOverride", metrics, session)
            self.call("Page.navigate", {"url": page.as_uri()}, session)
            self.wait_for("Page.loadEventFired", session)
            evaluated = self.call(
                "Runtime.evaluate",
                {"expression": script, "awaitPromise": True, "returnByValue": True},
                session,
            )
            if "exceptionDetails" in evaluated:
                raise BrowserError(f"{page.name}: {evaluated['exceptionDetails']}")
            result = evaluated["result"]["value"]
            height = min(int(result["height"]), 16000)
            self.call("Emulation.setDeviceMetricsOverride", {**metrics, "height": height}, session)
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            shot = self.call("Page.captureScreenshot", {"format": "png", "clip": clip}, session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return result
        finally:
            self.call("Target.closeTarget", {"targetId": target})
