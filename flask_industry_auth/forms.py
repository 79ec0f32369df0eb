"""Flask-WTF forms: parsing and validation only, never a write.

CSRF is checked once for every POST of the blueprint (see ``views``), so the forms themselves
carry no token field. Field names are part of the public contract.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from . import validators as v
from .i18n import lazy_gettext as _l


class BaseForm(FlaskForm):
    class Meta:
        csrf = False  # checked for the whole blueprint before any view runs


def _clean(value):
    return v.clean_text(value) if isinstance(value, str) else value


def _printable(form, field) -> None:
    if v.has_invisible_controls(field.data):
        raise ValidationError(
            _l(
                "This field contains invisible characters that change the direction or "
                "joining of text (such as U+202E). Type it again without them."
            )
        )
    if v.has_bad_characters(field.data):
        raise ValidationError(_l("This field contains characters that are not allowed."))


def _visible(form, field) -> None:
    # Before _printable: a name of nothing but zero-width spaces is empty, not "invisible
    # characters in a name".
    if field.data and v.is_blank(field.data):
        raise ValidationError(
            _l(
                "This field holds only spaces or invisible characters. Type the name or "
                "address itself."
            )
        )


def _business_id(form, field) -> None:
    field.data = v.normalize_business_id(field.data)
    if v.is_reserved_business_id(field.data):
        raise ValidationError(
            _l("This unified business number (統一編號) belongs to no business. Enter yours.")
        )
    if not v.is_valid_business_id(field.data):
        raise ValidationError(_l("Enter a valid 8-digit unified business number (統一編號)."))


def _phone(form, field) -> None:
    try:
        form.parsed_phone = v.parse_phone(field.data)
    except ValueError:
        raise ValidationError(
            _l("Enter a valid Taiwan phone number, e.g. 02-2311-2345#123 or 0912-345-678.")
        ) from None


def _email(form, field) -> None:
    try:
        field.data = v.normalize_email(field.data)
    except ValueError:
        raise ValidationError(_l("Enter a valid email address, e.g. name@example.com.")) from None


def _required():
    return DataRequired(message=_l("This field is required."))


def _text(label, max_length, autocomplete, *extra, name=False):
    return StringField(
        label,
        validators=[
            _required(),
            Length(max=max_length, message=_l("Use at most %(max)d characters.")),
            *([_visible] if name else []),
            _printable,
            *extra,
        ],
        filters=[_clean],
        render_kw={"autocomplete": autocomplete},
    )


def _password(label, autocomplete, *extra):
    # No strip filter: spaces are part of a passphrase. The policy counts code points.
    return PasswordField(
        label, validators=[_required(), *extra], render_kw={"autocomplete": autocomplete}
    )


class ApplicantFieldsMixin:
    """The basic data of the manual (一.1), shared by registration and profile."""

    business_name = _text(_l("Business name"), 100, "organization", name=True)
    responsible_person = _text(_l("Responsible person"), 50, "off", name=True)
    contact_person = _text(_l("Contact person"), 50, "name", name=True)
    phone = _text(_l("Phone"), 40, "tel", _phone)
    address = _text(_l("Address"), 200, "street-address", name=True)
    email = _text(_l("Email"), 254, "email", _email)

    def basic_data(self) -> dict:
        """The validated values, phone split into E.164 and extension (after validate)."""
        phone, extension = self.parsed_phone
        return {
            "business_name": self.business_name.data,
            "responsible_person": self.responsible_person.data,
            "contact_person": self.contact_person.data,
            "phone": phone,
            "phone_ext": extension,
            "address": self.address.data,
            "email": self.email.data,
        }


class RegistrationForm(ApplicantFieldsMixin, BaseForm):
    """申請非憑證帳號: the application form and its confirmation step."""

    business_id = _text(_l("Unified business number"), 8, "off", _business_id)

    field_order = (
        "business_name",
        "business_id",
        "responsible_person",
        "contact_person",
        "phone",
        "address",
        "email",
    )

    def ordered_fields(self):
        return [self[name] for name in self.field_order]


class ProfileForm(ApplicantFieldsMixin, BaseForm):
    """修改基本資料. The 統一編號 is shown, never edited."""

    field_order = tuple(n for n in RegistrationForm.field_order if n != "business_id")

    def ordered_fields(self):
        return [self[name] for name in self.field_order]

    def values(self) -> dict[str, str]:
        """The fields as posted, to carry through a confirmation screen."""
        return {f.name: f.data for f in self.ordered_fields()}

    current_password = PasswordField(
        _l("Current password (needed to change the email)"),
        render_kw={"autocomplete": "current-password"},
    )


class LoginForm(BaseForm):
    """非憑證帳號登入: 統一編號 + 電子身分帳號 + 密碼."""

    business_id = _text(_l("Unified business number"), 20, "organization")
    account_id = _text(_l("Account ID"), 32, "username")
    password = _password(_l("Password"), "current-password")


class ForgotPasswordForm(BaseForm):
    """忘記密碼: the account id is enough."""

    # The manual's forgot-password step calls it 電子身分證號: both names stand on the label.
    account_id = _text(_l("Account ID (electronic ID number)"), 32, "username")


class ResendActivationForm(BaseForm):
    """A fresh activation mail, for the applicant whose link expired or got lost."""

    business_id = _text(_l("Unified business number"), 8, "off", _business_id)
    email = _text(_l("Email"), 254, "email", _email)


class ChangePasswordForm(BaseForm):
    """更改密碼: 舊密碼, 新密碼, 新密碼確認."""

    old_password = _password(_l("Old password"), "current-password")
    new_password = _password(_l("New password"), "new-password")
    confirm_password = _password(
        _l("Confirm new password"),
        "new-password",
        EqualTo("new_password", message=_l("The two new passwords do not match.")),
    )


class ForcedChangePasswordForm(ChangePasswordForm):
    """The first password change after a system-issued password: the applicant proved it
    seconds ago by logging in with it, so it is not asked again."""

    old_password = None


class ActionForm(BaseForm):
    """A form with nothing but its CSRF token (activate, log out)."""


def _longest(name: str) -> int:
    lengths = [
        validator.max
        for form_class in (RegistrationForm, ProfileForm, LoginForm, ForgotPasswordForm)
        if isinstance(unbound := getattr(form_class, name, None), UnboundField)
        for validator in unbound.kwargs["validators"]
        if isinstance(validator, Length)
    ]
    return max(lengths)


#: What a language switch keeps of a form (``views.set_language``), each with the longest
#: value a form takes: never a password, a token or a signature.
CARRIED_FIELDS: dict[str, int] = {
    name: _longest(name) for name in (*RegistrationForm.field_order, "account_id")
}
