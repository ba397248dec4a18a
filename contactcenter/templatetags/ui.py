"""Formatting helpers for templates (no queries, no logic)."""

from django import forms, template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def bootstrap(field: forms.BoundField) -> str:
    """Render a form field with Bootstrap's class for its widget kind and its error state."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})


@register.filter
def grouped(value: int | None) -> str:
    """1234567 → “1 234 567” in French, “1,234,567” in English."""
    return "" if value is None else number_format(value, force_grouping=True)
