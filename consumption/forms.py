"""The date-range picker: presets in the tenant's own calendar, or a custom range."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms

# A year and a bit: enough for any comparison, and it bounds the chart and the query.
MAX_RANGE_DAYS = 400

RANGE_CHOICES = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("custom", "Custom"),
]


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return dict(RANGE_CHOICES)[self.key]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_query(self) -> str:
        if self.key == "custom":
            return f"range=custom&start={self.start.isoformat()}&end={self.end.isoformat()}"
        return f"range={self.key}"


def preset_period(key: str, *, today: dt.date) -> Period:
    first_of_month = today.replace(day=1)
    if key == "last_month":
        last_month_end = first_of_month - dt.timedelta(days=1)
        return Period(key, last_month_end.replace(day=1), last_month_end)
    if key == "30d":
        return Period(key, today - dt.timedelta(days=29), today)
    if key == "90d":
        return Period(key, today - dt.timedelta(days=89), today)
    return Period("this_month", first_of_month, today)


class PeriodForm(forms.Form):
    range = forms.ChoiceField(choices=RANGE_CHOICES, required=False, label="Period")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        custom = cleaned.get("range") == "custom" or (not cleaned.get("range") and (start or end))
        if not custom:
            return cleaned
        cleaned["range"] = "custom"
        if not start or not end:
            raise forms.ValidationError("A custom period needs both a start and an end date.")
        if end < start:
            raise forms.ValidationError("The end date is before the start date.")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise forms.ValidationError(f"Choose a period of at most {MAX_RANGE_DAYS} days.")
        return cleaned

    def period(self, *, today: dt.date) -> Period:
        """The chosen period; an invalid or missing choice falls back to this month."""
        if not self.is_valid():
            return preset_period("this_month", today=today)
        key = self.cleaned_data.get("range") or "this_month"
        if key == "custom":
            return Period("custom", self.cleaned_data["start"], self.cleaned_data["end"])
        return preset_period(key, today=today)
