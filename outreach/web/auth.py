"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from outreach.accounts.models import User
from outreach.accounts.operations import authenticate, end_sessions
from outreach.db import get_session
from outreach.web.extensions import limiter, login_manager

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user of a session cookie, if that session is still open: the cookie carries
    the session version it was issued with (``User.get_id``); logout, a password change
    and deactivation increment the user's, so a copied cookie is refused afterwards."""
    ident, _, version = user_id.partition(".")
    if not (ident.isascii() and ident.isdigit() and version.isascii() and version.isdigit()):
        return None  # a cookie issued before versions existed, or forged: log in again
    if len(ident) > 18 or len(version) > 18:
        return None
    user = get_session().get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


class LoginForm(FlaskForm):
    email = EmailField("Adresse e-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login is a phishing gift.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("views.home")


def _login_limit() -> str:
    return current_app.config["OUTREACH"]["app"]["login_rate_limit"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("views.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        # Server-side: a copy of the cookie (another tab, a stolen one) stops working too.
        end_sessions(current_user)
    logout_user()
    flash(_("Vous êtes déconnecté(e)."), "info")
    return redirect(url_for("auth.login"))
