"""The e-mails about accounts, queued in the outbox (sent after the commit), in the user's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _

from vigie.auth.models import User
from vigie.mail.services import queue_mail


def _locale(user: User) -> str:
    return str(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"])


def link(endpoint: str, **values: Any) -> str:
    """An absolute link for an e-mail: VIGIE_BASE_URL, never the host the current request named (which a
    client chooses), and built without a request (the CLI sends e-mails too)."""
    path = current_app.url_map.bind("vigie.invalid").build(endpoint, values)
    return str(current_app.config["BASE_URL"]).rstrip("/") + path


def _when(value: datetime) -> str:
    return str(format_datetime(value, "d MMMM y, HH:mm"))


def _send(user: User, subject: str, paragraphs: list[str]) -> None:
    queue_mail(user.email, subject, "\n\n".join(paragraphs) + "\n")


def invitation(user: User, secret: str, expires_at: datetime, inviter: User | None) -> None:
    url = link("auth.accept_invitation", token=secret)
    with force_locale(_locale(user)):
        intro = (
            _(
                "%(inviter)s invites you to Vigie, where the Département and the partner libraries keep "
                "the obligations and the governance of their GDPR convention.",
                inviter=inviter.name,
            )
            if inviter is not None
            else _(
                "You are invited to Vigie, where the Département and the partner libraries keep the "
                "obligations and the governance of their GDPR convention."
            )
        )
        _send(
            user,
            _("Your Vigie account"),
            [
                _("Hello %(name)s,", name=user.name),
                intro,
                _("Your sign-in address: %(email)s", email=user.email),
                _(
                    "To choose your password, open this link. It works once, until %(when)s (Paris time):",
                    when=_when(expires_at),
                )
                + "\n"
                + url,
                _("If you were not expecting this message, ignore it: nothing happens without the link."),
            ],
        )


def password_reset(user: User, secret: str) -> None:
    url = link("auth.reset_password", token=secret)
    with force_locale(_locale(user)):
        _send(
            user,
            _("Resetting your Vigie password"),
            [
                _("Hello %(name)s,", name=user.name),
                _(
                    "Someone, probably you, asked to reset the password of the Vigie account %(email)s.",
                    email=user.email,
                ),
                _("To choose a new password, open this link within one hour. It works once:") + "\n" + url,
                _("If you did not ask for it, ignore this message: your password stays as it is."),
            ],
        )


def password_changed(user: User, when: datetime) -> None:
    with force_locale(_locale(user)):
        _send(
            user,
            _("Your Vigie password was changed"),
            [
                _("Hello %(name)s,", name=user.name),
                _(
                    "The password of the Vigie account %(email)s was changed on %(when)s (Paris time). "
                    "Its other sessions were signed out.",
                    email=user.email,
                    when=_when(when),
                ),
                _("If it was not you, tell your administrator at once."),
            ],
        )


def second_factor_reset(user: User, when: datetime) -> None:
    with force_locale(_locale(user)):
        _send(
            user,
            _("Your Vigie two-step verification was reset"),
            [
                _("Hello %(name)s,", name=user.name),
                _(
                    "An administrator reset the two-step verification of the Vigie account %(email)s on "
                    "%(when)s (Paris time). Its sessions were signed out; set two-step verification up "
                    "again after signing in.",
                    email=user.email,
                    when=_when(when),
                ),
                _("If you did not ask for it, tell your administrator at once."),
            ],
        )
