"""Error reports (DEBUG pages, error e-mails) that never show a provider key.

Install with ``DEFAULT_EXCEPTION_REPORTER_FILTER = "byok.error_reports.KeySafeExceptionReporterFilter"``.

Django's stock filter honours ``sensitive_variables``/``sensitive_post_parameters`` only when DEBUG
is off, on the theory that a DEBUG site is unsafe anyway. DEBUG pages still get screenshotted,
pasted into tickets and served from staging hosts holding real customer keys, so this filter keeps
them on always, and also runs every remaining frame variable through log redaction (key-shaped
strings and keys currently in use) as a second line of defence.
"""

from __future__ import annotations

from pprint import pformat

from django.views.debug import SafeExceptionReporterFilter

from byok.redaction import redact


class _Shown:
    """Displays as already-redacted text: ExceptionReporter pprints values, which uses repr."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class KeySafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request) -> bool:
        return True

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self._redacted(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def _redacted(self, value):
        if isinstance(value, str) and value == self.cleansed_substitute:
            return value
        try:
            text = pformat(value)
        except Exception:  # the reporter shows its own "Error in formatting" for these
            return value
        # Formatted once here and shown as is: the reporter would otherwise pformat it again.
        return _Shown(redact(text))
