"""The ``industry_auth`` blueprint. Thin: parse a form, call a flow, render or redirect."""

from __future__ import annotations

import logging

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
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from . import forms, sessions
from .certificates.errors import CertificateRefused
from .filing import account_required, current_account, wants_json
from .flows import activation, authentication, certificate, recovery, registration
from .flows import profile as profile_flow
from .i18n import (
    LOCALE_SESSION_KEY,
    applicant_gettext,
    current_locale,
    speak_applicant_locale,
    text_of,
)
from .i18n import gettext as _
from .rendering import policy_with_nonce, render_input, template_context
from .resources import resource_dir
from .state import get_state
from .templating import PackagedTemplateLoader

log = logging.getLogger(__name__)

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
#: Session key holding this session's certificate challenge.
CERT_CHALLENGE_KEY = "_industry_auth_cert_challenge"
#: Endpoints reachable while a password change is forced.
_ALLOWED_DURING_FORCED_CHANGE = frozenset(
    {
        "industry_auth.change_password",
        "industry_auth.logout",
        "industry_auth.set_language",
        "industry_auth.static",
        "industry_auth.session_status",
        "static",
    }
)

blueprint.context_processor(template_context)
speak_applicant_locale(blueprint)
blueprint.add_app_template_filter(render_input, "industry_auth_input")


@blueprint.before_request
def _check_csrf():
    # One check for every POST of the blueprint, login and logout included.
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as refused:
            _explain_csrf_refusal(str(refused))
            abort(400, description="csrf")


def _explain_csrf_refusal(reason: str) -> None:
    # A Secure session cookie is never sent back over plain HTTP, so every form "expires":
    # say so in the log, where the portal's developer looks, not only on the page.
    config = current_app.config
    if config.get("SESSION_COOKIE_SECURE") and not request.is_secure:
        log.warning(
            "flask_industry_auth: refused a POST to %s (%s): the session cookie is Secure but "
            "this request came over plain HTTP, so the browser never sends the cookie back. "
            "Serve the portal over HTTPS (behind a TLS proxy, apply werkzeug's ProxyFix), or "
            "for a local plain-HTTP demo set INDUSTRY_AUTH_SECURE_COOKIES = False.",
            request.path,
            reason,
        )
    else:
        log.info("flask_industry_auth: refused a POST to %s: %s", request.path, reason)


@blueprint.before_app_request
def _check_session():
    # Runs for the host's pages too: an expired session ends everywhere, and after a
    # system-issued password nothing else, ours or the host's, is reachable.
    manager = getattr(current_app, "login_manager", None)
    if manager is not None:
        sessions.guard_user_loader(manager)  # the host may have replaced loader or manager
    if request.endpoint in ("static", "industry_auth.static"):
        return None
    if request.blueprint == "industry_auth_admin":
        return None  # staff pages: the applicant's session rules are not the staff user's
    account = current_account()
    if account is None:
        return None
    ours = request.blueprint == "industry_auth"
    if sessions.expired():
        sessions.end()
        if not ours:
            return None  # a host page decides itself whether it needs an applicant
        if wants_json():
            return jsonify(error="session_expired", login_url=url_for(".login")), 401
        flash(
            applicant_gettext(
                "You were logged out after a period without activity. Please log in again."
            ),
            "info",
        )
        return redirect(url_for(".login"))
    if request.endpoint != "industry_auth.session_status":
        sessions.touch()
    if account.must_change_password and request.endpoint not in _ALLOWED_DURING_FORCED_CHANGE:
        url = url_for("industry_auth.change_password")
        if wants_json():
            return jsonify(error="password_change_required", change_password_url=url), 403
        return redirect(url)
    return None


#: Pages that carry a token in their URL or form: never leak it through Referer.
_TOKEN_ENDPOINTS = frozenset({"industry_auth.activate"})


@blueprint.after_request
def _security_headers(response):
    headers = response.headers
    csp = current_app.config["INDUSTRY_AUTH_CSP"]
    if csp:
        headers.setdefault("Content-Security-Policy", policy_with_nonce(csp))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint in _TOKEN_ENDPOINTS:
        headers["Referrer-Policy"] = "no-referrer"
    else:
        headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "industry_auth.static":
        # Account pages hold personal data: no copy in any cache, back button included.
        headers["Cache-Control"] = "no-store"
    return response


def database_unavailable(error):
    """503 while the database is unreachable: nothing was saved (the transaction is gone)."""
    import contextlib
    import logging

    logging.getLogger(__name__).error("flask_industry_auth: database unavailable: %s", error)
    with contextlib.suppress(Exception):  # the connection is broken: nothing left to undo
        get_state().db.session.rollback()
    # Rendered without the context processors: they ask the database who is logged in.
    from .i18n import current_locale, gettext

    template = current_app.jinja_env.get_template("industry_auth/unavailable.html")
    page = template.render(_=gettext, industry_auth_locale=current_locale())
    return page, 503, {"Retry-After": "60", "Cache-Control": "no-store"}


@blueprint.errorhandler(400)
@blueprint.errorhandler(403)
@blueprint.errorhandler(404)
@blueprint.errorhandler(405)
@blueprint.errorhandler(429)
def _error(error):
    return render_template("industry_auth/error.html", error=error), error.code


# -- 申請 (apply) ---------------------------------------------------------------------


@blueprint.route("/register", methods=["GET", "POST"])
def register():
    """Application form → confirmation screen → 申請帳號. Stateless: the confirmation screen
    carries the values in hidden fields and they are validated again on apply."""
    form = forms.RegistrationForm()
    action = request.form.get("action")
    if request.method == "POST" and action != "edit" and form.validate():
        if action == "apply":
            registration.apply(_application(form))
            return redirect(url_for(".register_done"))
        return render_template("industry_auth/register_confirm.html", form=form)
    return render_template("industry_auth/register.html", form=form)


def _application(form) -> registration.Application:
    return registration.Application(
        **form.basic_data(), business_id=form.business_id.data, locale=current_locale()
    )


@blueprint.route("/register/done")
def register_done():
    return render_template("industry_auth/register_done.html")


# -- 啟動帳號 (activate) ----------------------------------------------------------------


@blueprint.route("/activate/<token>", methods=["GET", "POST"])
def activate(token: str):
    """GET only shows a button (mail scanners prefetch links); POST activates."""
    if token != TOKEN_IN_SESSION:
        # Move the token out of the URL so it cannot leak through Referer or history.
        session[ACTIVATION_TOKEN_KEY] = token
        return redirect(url_for(".activate", token=TOKEN_IN_SESSION))
    token_value = session.get(ACTIVATION_TOKEN_KEY)
    if request.method == "POST":
        status = activation.activate(token_value)
        if status is activation.TokenStatus.VALID:
            session.pop(ACTIVATION_TOKEN_KEY, None)
            return redirect(url_for(".activated"))
    else:
        status = activation.check_token(token_value)
    if status is activation.TokenStatus.VALID:
        return render_template("industry_auth/activate.html", form=forms.ActionForm())
    return render_template("industry_auth/activate_invalid.html", status=status.value), 410


@blueprint.route("/activated")
def activated():
    return render_template("industry_auth/activated.html")


@blueprint.route("/activate-again", methods=["GET", "POST"])
def resend_activation():
    form = forms.ResendActivationForm()
    if form.validate_on_submit():
        activation.resend(form.business_id.data, form.email.data)
        return render_template("industry_auth/resend_activation_done.html")
    return render_template("industry_auth/resend_activation.html", form=form)


# -- 登入 / 登出 (log in, log out) --------------------------------------------------------


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = forms.LoginForm()
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
        failure = _login_failure(result)
    return render_template("industry_auth/login.html", form=form, failure=failure)


def _login_failure(result) -> str:
    # Told only after the right password (the flow says so): anyone else gets the generic one.
    if result.reason == "not_activated":
        return _(
            "This account has not been activated yet. Open the activation link in "
            "the mail we sent you."
        )
    if result.reason == "not_allowed":
        message = get_state().lifecycle.login_message(result.account.state)
        if message is not None:
            return text_of(message)
    return _(
        "Login failed: check the unified business number, account ID and "
        "password. After several failures the account is locked for a while."
    )


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
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        recovery.request_reset(form.account_id.data)
        return render_template("industry_auth/forgot_password_done.html")
    return render_template("industry_auth/forgot_password.html", form=form)


# -- 申請人管理功能 (applicant management) -------------------------------------------------


@blueprint.route("/")
@account_required
def index():
    return render_template("industry_auth/index.html", account=current_account())


@blueprint.route("/profile", methods=["GET", "POST"])
@account_required
def profile():
    account = current_account()
    if request.method == "POST" and request.form.get("action") == "clear":
        # 清除 without JavaScript: the same page with every field empty.
        form = forms.ProfileForm(formdata=None)
        return render_template("industry_auth/profile.html", form=form, account=account)
    form = forms.ProfileForm(
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
    if form.validate_on_submit():
        change = profile_flow.ProfileChange(**form.basic_data())
        problems = profile_flow.update_profile(account, change, form.current_password.data)
        if not problems:
            flash(_("Your basic data has been saved."), "success")
            return redirect(url_for(".profile"))
        _field_errors(
            form,
            problems,
            {
                "password_required": (
                    "current_password",
                    _("Enter your current password to change the email address."),
                ),
                "wrong_password": ("current_password", _("The current password is not correct.")),
                "email_taken": (
                    "email",
                    _("Another account of this business already uses this email address."),
                ),
            },
        )
    return render_template("industry_auth/profile.html", form=form, account=account)


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
            _field_errors(form, problems, _password_messages())
    return render_template(
        "industry_auth/change_password.html", form=form, account=account, forced=forced
    )


def _password_messages() -> dict[str, tuple[str, str]]:
    config = current_app.config
    return {
        "wrong_old_password": ("old_password", _("The old password is not correct.")),
        "too_short": (
            "new_password",
            _("Use at least %(min)d characters.", min=config["INDUSTRY_AUTH_PASSWORD_MIN_LENGTH"]),
        ),
        "too_long": (
            "new_password",
            _("Use at most %(max)d characters.", max=config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"]),
        ),
        "common": ("new_password", _("This password is too common. Choose another.")),
        "contains_identifier": (
            "new_password",
            _("The password must not contain your business number, account ID, names or email."),
        ),
        "reused": (
            "new_password",
            _(
                "The new password must differ from your last %(n)d passwords.",
                n=config["INDUSTRY_AUTH_PASSWORD_HISTORY"],
            ),
        ),
    }


def _field_errors(form, problems: list[str], messages: dict[str, tuple[str, str]]) -> None:
    for code in problems:
        field_name, message = messages[code]
        form[field_name].errors = [*form[field_name].errors, message]


# -- 憑證 (certificate accounts) -----------------------------------------------------------


def certificate_message(reason: str) -> str:
    """What the applicant is told when a card is refused: precise, so they can act."""
    messages = {
        "expired": _("Your certificate has expired. Renew it with the certificate authority."),
        "not_yet_valid": _("Your certificate is not valid yet."),
        "revoked": _(
            "Your certificate has been revoked (停用). Contact the certificate authority."
        ),
        "revocation_unknown": _(
            "The certificate's revocation status cannot be checked right "
            "now. Please try again later."
        ),
        "untrusted": _(
            "This certificate was not issued by a certificate authority this "
            "portal accepts (工商憑證 MOEACA or 自然人憑證 MOICA)."
        ),
        "wrong_card": _(
            "This is not the right certificate: use the signing certificate of a "
            "工商憑證 or 自然人憑證 card."
        ),
        "wrong_company": _(
            "The certificate belongs to another company (統一編號) than the account or the form."
        ),
        "no_account": _(
            "No account uses this certificate yet. Apply for a certificate "
            "account, or bind your 自然人憑證 to your account first."
        ),
        "not_activated": _(
            "This account has not been activated yet. Open the activation "
            "link in the mail we sent you."
        ),
        "not_allowed": _(
            "This account cannot log in at the moment. Contact the portal's service desk."
        ),
        "challenge_expired": _(
            "The signing request expired or was already used. Please try again."
        ),
    }
    return messages.get(reason, _("The signature could not be verified. Please try again."))


@blueprint.route("/certificate/challenge", methods=["POST"])
def certificate_challenge():
    """A fresh single-use challenge for the card to sign, bound to this session."""
    purpose = request.form.get("purpose")
    if purpose not in certificate.PURPOSES:
        abort(400)
    if purpose == "bind" and current_account() is None:
        abort(403)
    value = certificate.new_challenge(purpose)
    session[CERT_CHALLENGE_KEY] = value
    response = jsonify(challenge=value)
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed() -> tuple[str, str | None]:
    """The posted signature and this session's challenge (used up either way)."""
    challenge = session.pop(CERT_CHALLENGE_KEY, None)
    return request.form.get("signature", ""), challenge


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
        certificate_failure=certificate_message(result.reason),
    )


@blueprint.route("/register/certificate", methods=["GET", "POST"])
def register_certificate():
    """Apply for a certificate account: the same form, then a signature by the card."""
    form = forms.RegistrationForm()
    action = request.form.get("action")
    failure = None
    if request.method == "POST" and action != "edit" and form.validate():
        if action == "apply":
            try:
                certificate.apply(_application(form), *_signed())
            except CertificateRefused as refused:
                failure = certificate_message(refused.reason)
            else:
                return redirect(url_for(".register_done"))
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
    """Bind a 自然人憑證 to the logged-in account; it then logs in with the card."""
    account = current_account()
    failure = None
    if request.method == "POST":
        try:
            certificate.bind_citizen_card(account, *_signed())
        except CertificateRefused as refused:
            failure = certificate_message(refused.reason)
        else:
            sessions.end()
            flash(_("The card is bound to your account. Log in with it from now on."), "success")
            return redirect(url_for(".login"))
    return render_template(
        "industry_auth/bind_certificate.html", account=account, certificate_failure=failure
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
    """Remember the applicant's language (zh_Hant_TW or English) for pages and mail."""
    locale = request.form.get("locale")
    if locale in current_app.config["INDUSTRY_AUTH_LOCALES"]:
        session[LOCALE_SESSION_KEY] = locale
    target = request.form.get("next")
    if not get_state().adapter.is_safe_redirect(target):
        target = url_for(".login")
    return redirect(target)
