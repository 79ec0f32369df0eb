"""The form macro writes <input> fields itself (for speed): the same HTML as WTForms."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, TextAreaField

from flask_industry_auth import forms
from flask_industry_auth.rendering import render_input

FORMS = [
    forms.RegistrationForm,
    forms.ProfileForm,
    forms.LoginForm,
    forms.ForgotPasswordForm,
    forms.ResendActivationForm,
    forms.ChangePasswordForm,
    forms.ForcedChangePasswordForm,
]
# Values that need escaping, too long, invalid: every flag and error path of the fields.
HOSTILE = {
    "business_name": 'A&B "co" <script>',
    "business_id": "123",
    "email": "bad<>\"'",
    "phone": "x" * 60,
    "password": "secret",
    "new_password": "abc",
    "confirm_password": "abd",
}


@pytest.mark.parametrize("form_class", FORMS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("data", [None, HOSTILE], ids=["empty", "submitted"])
def test_render_input_writes_what_the_widget_writes(app, form_class, data):
    with app.test_request_context("/", method="POST"):
        form = form_class(formdata=MultiDict(data) if data else None)
        if data:
            form.validate()
        for field in form:
            for extra in (
                {},
                {"class_": "ia-input"},
                {"class_": "ia-input", "aria_invalid": "true", "aria_describedby": "a b"},
                {"aria_invalid": False, "data_x": 'q"uote'},
            ):
                # Beyond the widget: an input with an error points at its message.
                tied = (
                    {"aria_invalid": "true", "aria_describedby": f"{field.id}-error"}
                    if field.errors
                    else {}
                )
                # ... and never a maxlength, which cuts a paste without a word.
                expected = field(**{"maxlength": False, **tied, **extra})
                assert render_input(field, **extra) == expected, (field.name, extra)
                assert "maxlength" not in render_input(field, **extra)


@pytest.mark.parametrize("hint", [False, True])
def test_render_input_ties_the_error_and_the_hint(app, hint):
    with app.test_request_context("/", method="POST"):
        form = forms.ResendActivationForm(formdata=MultiDict({"business_id": "123"}))
        form.validate()
        field = form.business_id
        described = [f"{field.id}-hint"] * hint + [f"{field.id}-error"]
        expected = field(aria_invalid="true", aria_describedby=" ".join(described), maxlength=False)
        assert render_input(field, hint=hint) == expected
        calm = form.email  # an error cleared: nothing to point at
        calm.errors = []
        assert "aria-invalid" not in render_input(calm, hint=hint)
        assert ('aria-describedby="email-hint"' in render_input(calm, hint=hint)) == hint


def test_other_widgets_render_through_wtforms(app):
    class Extra(forms.BaseForm):
        choice = SelectField("Choice", choices=["a", "b"])
        notes = TextAreaField("Notes")

    with app.test_request_context("/"):
        form = Extra()
        assert render_input(form.choice, class_="x").startswith("<select")
        assert render_input(form.notes, class_="x").startswith("<textarea")
