"""Rendering Django form fields with Bootstrap 5.3 classes and the ARIA links to their help and errors."""
from django import template
from django.forms import CheckboxInput, CheckboxSelectMultiple, RadioSelect, Select, SelectMultiple

register = template.Library()


def _base_class(widget) -> str:
    if isinstance(widget, (CheckboxInput, RadioSelect, CheckboxSelectMultiple)):
        return "form-check-input"
    if isinstance(widget, (Select, SelectMultiple)):
        return "form-select"
    return "form-control"


@register.filter
def is_checkbox(bound_field) -> bool:
    return isinstance(bound_field.field.widget, CheckboxInput)


@register.filter
def bs_widget(bound_field):
    """The field's own widget (so passwords are never echoed back) with Bootstrap classes, aria-invalid and
    aria-describedby pointing at the ids components/form_field.html gives the help text and the errors."""
    widget = bound_field.field.widget
    classes = [widget.attrs.get("class", ""), _base_class(widget)]
    described_by = []
    if bound_field.help_text:
        described_by.append(f"{bound_field.auto_id}_helptext")
    if bound_field.errors:
        classes.append("is-invalid")
        described_by.append(f"{bound_field.auto_id}_error")
    attrs = {"class": " ".join(c for c in classes if c)}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
    return bound_field.as_widget(attrs=attrs)
