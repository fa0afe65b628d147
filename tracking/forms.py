"""Forms of the pages: the one that creates an API key on a project's keys page."""

from __future__ import annotations

from django import forms

from tracking.models import ApiKey


class ApiKeyForm(forms.Form):
    """A new key's name and scope. The name is required here, so keys made on the page can be
    told apart in the list (`manage.py apikey create` leaves it optional)."""

    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        strip=True,
        help_text="What the key is for, e.g. “CI” or “laptop hooks”.",
    )
    scope = forms.ChoiceField(choices=ApiKey.SCOPES, initial=ApiKey.WRITE)
