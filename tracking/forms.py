"""Forms of the pages: a new API key on a project's keys page, and a person's preferences."""

from __future__ import annotations

from django import forms

from tracking.models import ApiKey, Preferences, available_zones


class ApiKeyForm(forms.Form):
    """A new key's name and scope. The name is required here, so keys made on the page can be
    told apart in the list (`manage.py apikey create` leaves it optional)."""

    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        strip=True,
        help_text="What the key is for, e.g. “CI” or “laptop hooks”.",
    )
    scope = forms.ChoiceField(choices=ApiKey.SCOPES, initial=ApiKey.WRITE)


class PreferencesForm(forms.ModelForm):
    """A person's display zone, picked from the zones this machine knows."""

    time_zone = forms.ChoiceField(required=False, label="Time zone")

    class Meta:
        model = Preferences
        fields = ["time_zone"]

    def __init__(self, *args, site_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", f"The site's zone ({site_zone})")] + [
            (name, name) for name in sorted(available_zones())
        ]
