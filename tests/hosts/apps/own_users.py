"""A portal with users of its OWN (the agency's staff) beside the package's applicants.

It has a ``User`` model on the same ``db``, its own Flask-Login ``LoginManager`` (login view
``/staff/login``), Flask-WTF CSRF on every POST, a session key of its own (``host_cart``) and
Flask-Migrate with its own history; flask_industry_auth is mounted as the README shows.

Environment: ``HOST_DATABASE_URL``, ``HOST_SMTP_PORT``, ``HOST_EXTERNAL_URL``,
``HOST_MIGRATIONS_DIR`` (the host's Alembic folder) and ``HOST_INIT_ORDER``: the order in which
the host creates its ``LoginManager`` ("manager"), registers its user loader ("loader") and
calls ``IndustryAuth.init_app`` ("package"), comma-separated (default
``manager,loader,package``).
"""

import os

import click
from flask import Flask, jsonify, redirect, render_template_string, request, session, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from host_settings import from_environment
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from flask_industry_auth import IndustryAuth

db = SQLAlchemy()
auth = IndustryAuth(db=db)  # the package's tables live in the host's database
csrf = CSRFProtect()


class User(UserMixin, db.Model):
    """The agency's staff: they log in at /staff/login, never at /account/login."""

    __tablename__ = "staff_user"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)
    password_hash = db.Column(db.String(255), nullable=False)


def load_user(user_id: str):
    return db.session.get(User, int(user_id))


class StaffLoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


PAGE = """<!doctype html>
<html lang="en"><head><title>{{ title }}</title></head><body>
<h1>{{ title }}</h1>
{{ body|safe }}
</body></html>"""

STAFF_LOGIN = """<form method="post">{{ form.hidden_tag() }}
{{ form.username.label }} {{ form.username() }}
{{ form.password.label }} {{ form.password() }}
<button type="submit">Log in</button></form>{% if failed %}<p>Login failed</p>{% endif %}"""

STAFF_HOME = """<p>Staff home of {{ current_user.username }}</p>
<form method="post" action="{{ url_for('staff_logout') }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button type="submit">Log out</button></form>"""

CART = """<p>host_cart: <span id="host-cart">{{ session.get("host_cart") }}</span></p>
<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input name="item"><button type="submit">Put in the cart</button></form>"""


def page(title: str, body: str, **context) -> str:
    return render_template_string(PAGE, title=title, body=render_template_string(body, **context))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="own-users-host-secret", **from_environment())
    db.init_app(app)
    csrf.init_app(app)
    Migrate(app, db, directory=os.environ.get("HOST_MIGRATIONS_DIR", "migrations"))

    manager = None
    for step in os.environ.get("HOST_INIT_ORDER", "manager,loader,package").split(","):
        if step == "manager":
            manager = LoginManager(app)
            manager.login_view = "staff_login"
        elif step == "loader":
            manager.user_loader(load_user)
        elif step == "package":
            auth.init_app(app)  # mounts /account/..., adds `flask industry-auth`
        else:
            raise RuntimeError(f"unknown HOST_INIT_ORDER step {step!r}")

    @app.get("/")
    def home():
        return page("Host portal", "<p>The agency's own pages.</p>")

    @app.route("/staff/login", methods=["GET", "POST"])
    def staff_login():
        form = StaffLoginForm()
        if form.validate_on_submit():
            user = db.session.scalar(db.select(User).filter_by(username=form.username.data))
            if user is not None and check_password_hash(user.password_hash, form.password.data):
                login_user(user)
                return redirect(url_for("staff_home"))
        return page("Staff login", STAFF_LOGIN, form=form, failed=request.method == "POST")

    @app.post("/staff/logout")
    def staff_logout():
        logout_user()
        return redirect(url_for("staff_login"))

    @app.get("/staff/home")
    @login_required
    def staff_home():
        return page("Staff home", STAFF_HOME)

    @app.get("/api/me")
    @login_required
    def api_me():
        return jsonify(username=current_user.username)

    @app.route("/cart", methods=["GET", "POST"])
    def cart():
        # A session key of the host's own, which nobody else's login or logout may drop.
        if request.method == "POST":
            session["host_cart"] = request.form["item"]
            return redirect(url_for("cart"))
        return page("Cart", CART)

    @app.cli.command("create-all")
    def create_all():
        """db.create_all(): every table of the models, the package's included."""
        db.create_all()
        click.echo("tables created")

    @app.cli.command("add-staff")
    @click.argument("username")
    @click.argument("password")
    def add_staff(username: str, password: str):
        """Add a staff user (and the staff table, for tests that skip the host's history)."""
        User.__table__.create(db.engine, checkfirst=True)
        db.session.add(User(username=username, password_hash=generate_password_hash(password)))
        db.session.commit()
        click.echo(f"staff user {username} added")

    return app
