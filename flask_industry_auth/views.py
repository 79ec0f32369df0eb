"""The ``industry_auth`` blueprint. Thin: parse a form, call a flow, render or redirect."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from . import dates, forms, hooks, language_switch, messages, page_cache, sessions, signing
from .certificates.errors import CertificateRefused
from .filing import account_required, current_account
from .flows import activation, authentication, certificate, recovery, registration
from .flows import delegation as delegation_flow
from .flows import profile as profile_flow
from .i18n import (
    LOCALE_SESSION_KEY,
    current_locale,
    speak_applicant_locale,
)
from .i18n import gettext as _
from .models import BUSINESS_CERTIFICATE
from .rendering import render_input, template_context
from .resources import resource_dir
from .signing import CERT_CHALLENGE_KEY
from .state import get_state
from .templating import PackagedTemplateLoader

blueprint = Blueprint(
    "industry_auth",
    __name__,
    template_folder=str(resource_dir("templates")),
    static_folder="static",
    static_url_path="/static",
)
# Also serves each template as "industry_auth/packaged/<name>", for overrides to extend.
blueprint.jinja_loader = PackagedTemplateLoader(resource_dir("templates"))

#: Session key holding an activation token moved out of the URL.
ACTIVATION_TOKEN_KEY = "_industry_auth_activation_token"  # noqa: S105 (a key name)
#: What stands in the activation URL once the token has moved into the session.
TOKEN_IN_SESSION = "confirm"  # noqa: S105 (a placeholder, not a secret)
blueprint.context_processor(template_context)


def _check_csrf():
    """The CSRF check of every POST, but the activation button's that carries its token.

    That POST must work without a session cookie (see :func:`activate`), so no CSRF token can
    be tied to it. The activation token stands in for it: 128 random bits that a forged
    cross-site request cannot know. Whoever has it may activate that account anyway, and
    activating logs nobody in. Without the field, the token comes from the session and CSRF
    is checked as everywhere.
    """
    if request.endpoint == "industry_auth.activate" and request.form.get("token"):
        return None
    return hooks.check_csrf()


blueprint.before_request(_check_csrf)
blueprint.before_app_request(hooks.check_session)
blueprint.after_request(hooks.security_headers)
blueprint.after_app_request(hooks.security_headers_of_unrouted)  # router's 404, 405
for _code in (400, 403, 404, 405, 429):
    blueprint.register_error_handler(_code, hooks.error_page)
speak_applicant_locale(blueprint)
blueprint.before_request(language_switch.take)
blueprint.add_app_template_filter(render_input, "industry_auth_input")
# Times in INDUSTRY_AUTH_TIMEZONE and INDUSTRY_AUTH_CALENDAR, on pages and in mail.
blueprint.add_app_template_filter(dates.format_datetime, "industry_auth_datetime")
blueprint.add_app_template_filter(dates.format_date, "industry_auth_date")


# -- 申請 (apply) ---------------------------------------------------------------------


@blueprint.route("/register", methods=["GET", "POST"])
def register():
    """Application form → confirmation screen → 申請帳號. Stateless: the confirmation screen
    carries the values in hidden fields and they are validated again on apply."""
    form, confirmed = _carried_application()
    if confirmed:  # the language switched on the confirmation screen
        return render_template("industry_auth/register_confirm.html", form=form)
    action = request.form.get("action")
    if request.method == "POST" and action != "edit" and form.validate():
        if action == "apply":
            registration.apply(_application(form))
            return redirect(url_for(".register_done"))
        return render_template("industry_auth/register_confirm.html", form=form)
    return render_template("industry_auth/register.html", form=form)


def _carried_application():
    """The registration form, and whether it is the confirmation screen the applicant
    switched language on (the values were valid then; they are checked again)."""
    carried = language_switch.carried()
    if carried is None:
        return forms.RegistrationForm(), False
    form = language_switch.filled(forms.RegistrationForm, carried)
    if carried["confirm"] and form.validate():
        return form, True
    form = language_switch.filled(forms.RegistrationForm, carried)  # shown as typed, not yet judged
    return form, False


def _application(form) -> registration.Application:
    return registration.Application(
        **form.basic_data(), business_id=form.business_id.data, locale=current_locale()
    )


@blueprint.route("/register/done")
def register_done():
    return render_template("industry_auth/register_done.html")


# -- 啟用帳號 (activate) ----------------------------------------------------------------


@blueprint.route("/activate/<token>", methods=["GET", "POST"])
def activate(token: str):
    """GET only shows a button (mail scanners prefetch links); POST activates.

    It works in any browser, with or without the site's cookies (a mail app's viewer, another
    browser, a SameSite cookie dropped on the way from the mail): the page carries the token
    in a hidden field and posts it to a URL without it (``/activate/confirm``), served with
    ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store`` (hooks.security_headers).
    That POST needs no session, hence no CSRF token (see :func:`_check_csrf`). The token is
    also kept in the session, for a page or script that posts without the field.
    """
    if request.method == "POST":
        token_value = request.form.get("token") or session.get(ACTIVATION_TOKEN_KEY)
        card = activation.is_certificate_token(token_value)
        status = activation.activate(token_value)
        if status is activation.TokenStatus.VALID:
            session.pop(ACTIVATION_TOKEN_KEY, None)
            return redirect(url_for(".activated", card=1 if card else None))
    else:
        token_value = token if token != TOKEN_IN_SESSION else session.get(ACTIVATION_TOKEN_KEY)
        status = activation.check_token(token_value)
        if token != TOKEN_IN_SESSION and len(token) <= activation.MAX_TOKEN_LENGTH:
            session[ACTIVATION_TOKEN_KEY] = token  # no giant cookie of a giant URL
    if status is activation.TokenStatus.VALID:
        return render_template(
            "industry_auth/activate.html",
            token=token_value,
            certificate=activation.is_certificate_token(token_value),
        )
    return render_template("industry_auth/activate_invalid.html", status=status.value), 410


@blueprint.route("/activated")
def activated():
    return render_template("industry_auth/activated.html")


@blueprint.route("/activate-again", methods=["GET", "POST"])
def resend_activation():
    form = language_switch.filled(forms.ResendActivationForm) or forms.ResendActivationForm()
    if form.validate_on_submit():
        activation.resend(form.business_id.data, form.email.data)
        return render_template("industry_auth/resend_activation_done.html")
    return render_template("industry_auth/resend_activation.html", form=form)


# -- 登入 / 登出 (log in, log out) --------------------------------------------------------


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    # An anonymous GET: the page rendered once for this locale and address, with this
    # request's CSRF token and nonce (page_cache).
    page = page_cache.render_once("industry_auth/login.html", _login_page)
    if page is not None:
        return page
    form = language_switch.filled(forms.LoginForm) or forms.LoginForm()
    failure = None
    if form.validate_on_submit():
        result = authentication.authenticate(
            form.business_id.data, form.account_id.data, form.password.data
        )
        if result.ok:
            sessions.start(result.account, "password")
            if result.account.must_change_password:
                return redirect(url_for(".change_password"))
            return redirect(_next_url())
        failure = messages.login_failure(result)
    # A POST is the password window's; a GET opens the window ?type= asks for.
    login_type = "password" if request.method == "POST" else _login_type("password")
    return render_template(
        "industry_auth/login.html", form=form, failure=failure, login_type=login_type
    )


def _login_page() -> dict:
    return {"form": forms.LoginForm(), "failure": None, "login_type": _login_type("password")}


#: The login page's windows, the manual's 登入畫面 icons: ``?type=`` picks one.
LOGIN_TYPES = ("password", "business", "citizen")


def _login_type(default: str, choices: tuple[str, ...] = LOGIN_TYPES) -> str:
    chosen = request.args.get("type")
    return chosen if chosen in choices else default


def _next_url() -> str:
    target = request.args.get("next")
    if get_state().adapter.is_safe_redirect(target):
        return target
    return url_for(current_app.config["INDUSTRY_AUTH_HOME_ENDPOINT"])


@blueprint.route("/logout", methods=["POST"])
def logout():
    account = current_account()
    if account is not None:
        authentication.logout(account)
    sessions.end()
    flash(_("You have logged out."), "info")
    return redirect(url_for(".login"))


# -- 忘記密碼 (forgot password) ---------------------------------------------------------


@blueprint.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    form = language_switch.filled(forms.ForgotPasswordForm) or forms.ForgotPasswordForm()
    if form.validate_on_submit():
        recovery.request_reset(form.account_id.data)
        return render_template("industry_auth/forgot_password_done.html")
    return render_template("industry_auth/forgot_password.html", form=form)


# -- 申請人管理功能 (applicant management) -------------------------------------------------


@blueprint.route("/")
@account_required
def index():
    account = current_account()
    return render_template(
        "industry_auth/index.html",
        account=account,
        account_pending_delegation=delegation_flow.pending_for(account),
    )


@blueprint.route("/profile", methods=["GET", "POST"])
@account_required
def profile():
    account = current_account()
    if request.method == "POST" and request.form.get("action") == "clear":
        # 清除 without JavaScript: the same page with every field empty.
        form = forms.ProfileForm(formdata=None)
        return render_template("industry_auth/profile.html", form=form, account=account)
    form = language_switch.filled(forms.ProfileForm) or forms.ProfileForm(
        data=None
        if request.method == "POST"
        else {
            "business_name": account.business_name,
            "responsible_person": account.responsible_person,
            "contact_person": account.contact_person,
            "phone": account.phone_display,
            "address": account.address,
            "email": account.email,
        }
    )
    if account.is_certificate_account:
        return _certificate_profile(account, form)
    if form.validate_on_submit():
        change = profile_flow.ProfileChange(**form.basic_data())
        problems = profile_flow.update_profile(account, change, form.current_password.data)
        if not problems:
            flash(_("Your basic data has been saved."), "success")
            return redirect(url_for(".profile"))
        _field_errors(form, problems)
    return render_template("industry_auth/profile.html", form=form, account=account)


def _certificate_profile(account, form):
    # A certificate account has no password: the card signs the change instead (下一步,
    # then a confirmation screen with the signing form).
    action = request.form.get("action")
    if request.method != "POST" or action == "edit" or not form.validate_on_submit():
        return render_template("industry_auth/profile.html", form=form, account=account)
    change = profile_flow.ProfileChange(**form.basic_data())
    failure = None
    if action == "sign":
        try:
            problems = certificate.confirm_profile(account, change, *_signed())
        except CertificateRefused as refused:
            failure = messages.certificate_message(refused.reason)
        else:
            if not problems:
                flash(_("Your basic data has been saved."), "success")
                return redirect(url_for(".profile"))
            _field_errors(form, problems)
            return render_template("industry_auth/profile.html", form=form, account=account)
    signing.prepare_profile(account, change)
    return render_template(
        "industry_auth/profile_confirm.html",
        form=form,
        account=account,
        certificate_failure=failure,
    )


@blueprint.route("/change-password", methods=["GET", "POST"])
@account_required
def change_password():
    account = current_account()
    if account.is_certificate_account:
        return render_template(
            "industry_auth/change_password.html", form=None, account=account, forced=False
        )
    forced = account.must_change_password
    form_class = forms.ForcedChangePasswordForm if forced else forms.ChangePasswordForm
    if request.method == "POST" and request.form.get("action") == "clear":
        form = form_class(formdata=None)
    else:
        form = form_class()
        if form.validate_on_submit():
            old = None if forced else form.old_password.data
            problems = profile_flow.change_password(
                account, old, form.new_password.data, forced=forced
            )
            if not problems:
                sessions.renew(account)  # the flow ended every session; keep this one
                flash(_("Your password has been changed."), "success")
                return redirect(url_for(current_app.config["INDUSTRY_AUTH_HOME_ENDPOINT"]))
            _field_errors(form, problems)
    return render_template(
        "industry_auth/change_password.html", form=form, account=account, forced=forced
    )


def _field_errors(form, problems: list[str]) -> None:
    for code in problems:
        field_name, text = messages.field_message(code)
        form[field_name].errors = [*form[field_name].errors, text]


# -- 憑證 (certificate accounts) -----------------------------------------------------------


@blueprint.route("/certificate/challenge", methods=["POST"])
def certificate_challenge():
    """A fresh single-use challenge for the card to sign, bound to this session."""
    purpose = request.form.get("purpose")
    if purpose not in certificate.PURPOSES:
        abort(400)
    if purpose in ("bind", *certificate.DOCUMENT_PURPOSES) and current_account() is None:
        abort(403)
    document = None
    if purpose in certificate.DOCUMENT_PURPOSES:
        document = signing.pending(purpose)
        if document is None:
            abort(400)  # no document was prepared for signing in this session
    value = certificate.new_challenge(purpose, document)
    session[CERT_CHALLENGE_KEY] = value
    response = jsonify(challenge=value)
    response.headers["Cache-Control"] = "no-store"
    return response


_signed = signing.signed


@blueprint.route("/certificate/login", methods=["POST"])
def certificate_login():
    """Log in with a 工商憑證 or 自然人憑證 card."""
    result = certificate.login(*_signed())
    if result.ok:
        sessions.start(result.account, "certificate")
        return redirect(_next_url())
    return render_template(
        "industry_auth/login.html",
        form=forms.LoginForm(formdata=None),
        failure=None,
        certificate_failure=messages.certificate_message(result.reason),
        login_type=_login_type("business", choices=("business", "citizen")),
    )


@blueprint.route("/register/certificate", methods=["GET", "POST"])
def register_certificate():
    """Apply for a certificate account: the same form, then a signature by the card."""
    form, confirmed = _carried_application()
    if confirmed:  # the language switched on the confirmation screen
        return render_template("industry_auth/register_confirm.html", form=form, certificate=True)
    action = request.form.get("action")
    failure = None
    if request.method == "POST" and action != "edit" and form.validate():
        if action == "apply":
            try:
                certificate.apply(_application(form), *_signed())
            except CertificateRefused as refused:
                failure = messages.certificate_message(refused.reason)
            else:
                return redirect(url_for(".register_done", card=1))
        return render_template(
            "industry_auth/register_confirm.html",
            form=form,
            certificate=True,
            certificate_failure=failure,
        )
    return render_template("industry_auth/register.html", form=form, certificate=True)


@blueprint.route("/certificate/bind", methods=["GET", "POST"])
@account_required
def bind_certificate():
    """Ask to bind a 自然人憑證 to the logged-in account; it takes effect once the company or
    staff authorize it."""
    account = current_account()
    if account.is_certificate_account:
        abort(403)  # a company's 工商憑證 account is never handed to a person's card
    failure = None
    if request.method == "POST":
        try:
            certificate.bind_citizen_card(account, *_signed())
        except CertificateRefused as refused:
            failure = messages.certificate_message(refused.reason)
        else:
            flash(
                _(
                    "Your card is recorded. Your account stays as it is until the company "
                    "authorizes you (staff, or the company's 工商憑證)."
                ),
                "success",
            )
            return redirect(url_for(".authorize_delegation"))
    return render_template(
        "industry_auth/bind_certificate.html", account=account, certificate_failure=failure
    )


@blueprint.route("/certificate/authorize", methods=["GET", "POST"])
@account_required
def authorize_delegation():
    """A 自然人憑證 holder's pending authorization: staff approve it, or the company's own
    工商憑證 signs the consent here."""
    account = current_account()
    pending = delegation_flow.pending_for(account)
    failure = None
    if pending is not None and request.method == "POST":
        try:
            certificate.consent_to_delegation(pending, *_signed())
        except CertificateRefused as refused:
            failure = messages.certificate_message(refused.reason)
        except delegation_flow.DelegationRefused as refused:
            failure = messages.message(refused.code)
        else:
            flash(_("The company has authorized you to act for it."), "success")
            if pending.binds:  # the account now logs in with the card
                sessions.end()
                return redirect(url_for(".login"))
            return redirect(url_for(".index"))
    if pending is not None:
        signing.prepare("delegation", delegation_flow.consent_document(pending))
    return render_template(
        "industry_auth/authorize_delegation.html",
        account=account,
        pending=pending,
        certificate_failure=failure,
    )


@blueprint.route("/certificate/delegates", methods=["GET", "POST"])
@account_required
def delegates():
    """The company's certificate account (logged in with its card) sees who acts for it with
    a 自然人憑證, and revokes."""
    account = current_account()
    if account.account_type != BUSINESS_CERTIFICATE or not account.can_file_electronically:
        abort(403)
    if request.method == "POST":
        chosen = delegation_flow.get(request.form.get("delegation", type=int) or 0)
        if chosen is None:
            abort(400)
        try:
            delegation_flow.revoke_by_company(account, chosen)
        except delegation_flow.DelegationRefused:
            abort(403 if chosen.business_id != account.business_id else 400)
        flash(_("The authorization is revoked."), "success")
        return redirect(url_for(".delegates"))
    return render_template(
        "industry_auth/delegates.html",
        account=account,
        delegations=delegation_flow.of_company(account.business_id),
    )


@blueprint.route("/session", methods=["GET", "POST"])
def session_status():
    """The idle-timeout warning's endpoint: GET tells the seconds left, POST extends."""
    if current_account() is None:
        return jsonify(active=False, seconds_left=0)
    if request.method == "POST":
        sessions.extend()
    return jsonify(active=True, seconds_left=sessions.seconds_left())


@blueprint.route("/language", methods=["POST"])
def set_language():
    """Remember the applicant's language (zh_Hant_TW or English) for pages and mail, keeping
    the non-secret values of the form the switch was pressed on (``language_switch``)."""
    locale = request.form.get("locale")
    if locale in current_app.config["INDUSTRY_AUTH_LOCALES"]:
        session[LOCALE_SESSION_KEY] = locale
    target = request.form.get("next") or request.args.get("next")
    if not get_state().adapter.is_safe_redirect(target):
        target = url_for(".login")
    language_switch.keep(request.form, target)
    return redirect(target)
