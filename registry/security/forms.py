from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from registry.models import Role
from registry.security.lockout import active_lock, client_address

LOCKED_MESSAGE = (
    "Too many failed logins: logging in from here or as this user is paused. Try again later, "
    "or ask a data manager to unlock it."
)


class LoginForm(AuthenticationForm):
    """Django's login form, telling a locked-out user why the right password does not work."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            username = self.cleaned_data.get("username") or ""
            if active_lock(username, client_address(self.request)) is not None:
                raise forms.ValidationError(LOCKED_MESSAGE, code="locked") from None
            raise


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class TwoFactorRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Roles that must log in with a second factor",
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class UnlockForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500)
