"""Two-factor authentication: TOTP (an authenticator application) and single-use recovery codes.

- The TOTP secret is stored encrypted (EncryptedString). A code is accepted for the current 30-second
  time step and one on each side (pyotp's valid_window=1), and only for a step later than the last one
  used: a code, once accepted, is refused afterwards (no replay), as are older ones.
- Ten recovery codes, each 16 characters from a 32-letter alphabet (80 bits of entropy), stored as their
  SHA-256. A slow hash (argon2) is for what people choose; codes this random cannot be brute-forced
  from their SHA-256, and a plain digest can be looked up in one query. Each works once.
- The QR code is drawn locally (segno, SVG): the secret never leaves the server for a third party.

Operations flush, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column

from vigie.audit.mixins import Audited
from vigie.auth.models import User
from vigie.crypto import EncryptedString
from vigie.database import Base, UTCDateTime, utcnow
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 16
# 32 letters and digits, without those read alike (0 and o, 1 and l): 5 bits a character.
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
VALID_WINDOW = 1  # time steps accepted on each side of the current one
_TOTP_CODE = re.compile(r"\d{6}")


class TotpCredential(Audited, Base):
    """A user's authenticator secret. Unconfirmed until a first code proves the application has it."""

    __tablename__ = "user_totp"
    # The last step changes at every sign-in: the sign-in log records those, not the audit trail.
    __audit_exclude__ = frozenset({"last_used_step"})

    # The primary key is the user's id, so the audit trail names the account directly.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), primary_key=True)
    # Deferred: loaded (and decrypted) only when a code is checked, not with every user.
    secret: Mapped[str] = mapped_column(EncryptedString(), deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The TOTP time step (unix time // 30) of the last code accepted: that code and older ones are refused.
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class RecoveryCode(Audited, Base):
    """One single-use recovery code; only its SHA-256 is stored."""

    __tablename__ = "recovery_code"

    # (user id, position 1-10): the audit trail's entity id ("12,3") names the account.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- Reading ---


def credential(user: User) -> TotpCredential | None:
    return db.session.get(TotpCredential, user.id)


def is_enrolled(user: User) -> bool:
    cred = credential(user)
    return cred is not None and cred.confirmed_at is not None


def required_for(user: User) -> bool:
    """Whether the setting makes a second factor mandatory for one of the user's roles."""
    cfg = current_app.config
    if not cfg.get("TOTP_REQUIRED"):
        return False
    required = set(cfg.get("TOTP_REQUIRED_ROLES", ()))
    return any(role.value in required for role in user.roles)


def remaining_recovery_codes(user: User) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def provisioning_uri(user: User, cred: TotpCredential) -> str:
    issuer = str(current_app.config.get("TOTP_ISSUER") or "Vigie")
    return pyotp.TOTP(cred.secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The otpauth:// address as an SVG QR code in a data: URI (the CSP allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000", light="#fff"))


def grouped_secret(cred: TotpCredential) -> str:
    """The secret in groups of four, for typing it into an application by hand."""
    return " ".join(cred.secret[i : i + 4] for i in range(0, len(cred.secret), 4))


# --- Enrolment ---


def start_enrolment(user: User) -> TotpCredential:
    """A new secret, not yet confirmed (an earlier unconfirmed one is replaced)."""
    cred = credential(user)
    if cred is not None and cred.confirmed_at is not None:
        raise Conflict(_("Two-step verification is already set up for this account."))
    if cred is None:
        cred = TotpCredential(user_id=user.id, secret=pyotp.random_base32())
        db.session.add(cred)
    else:
        cred.secret = pyotp.random_base32()
        cred.created_at = utcnow()
        cred.last_used_step = None
    db.session.flush()
    return cred


def confirm_enrolment(user: User, code: str, now: datetime | None = None) -> list[str]:
    """Confirm with a first code; returns the ten recovery codes, shown once. Ends the user's other
    sessions (they never passed the second factor)."""
    cred = db.session.scalar(
        sa.select(TotpCredential).where(TotpCredential.user_id == user.id).with_for_update()
    )
    if cred is None or cred.confirmed_at is not None:
        raise Conflict(_("Start the set-up again: no pending set-up was found."))
    step = matching_step(cred.secret, code, cred.last_used_step, now or utcnow())
    if step is None:
        problem = _("This code is not the one your application shows: check the time of your phone.")
        raise ValidationFailed(problem, {"code": problem})
    cred.confirmed_at = utcnow()
    cred.last_used_step = step
    codes = regenerate_recovery_codes(user)
    user.session_version += 1
    db.session.flush()
    return codes


# --- Verification ---


def _normalise_code(code: str) -> str:
    return re.sub(r"[\s-]+", "", code).lower()


def matching_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step whose code this is, within VALID_WINDOW steps of now and after `last_step`."""
    code = _normalise_code(code)
    if not _TOTP_CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue  # already used, or older than the code already used: a replay
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(user: User, code: str, now: datetime | None = None) -> bool:
    cred = credential(user)
    if cred is None or cred.confirmed_at is None:
        return False
    step = matching_step(cred.secret, code, cred.last_used_step, now or utcnow())
    if step is None:
        return False
    # Conditional: of two requests with the same code, only one moves the step forward.
    table: sa.Table = TotpCredential.__table__  # type: ignore[assignment]
    claimed = db.session.execute(
        sa.update(table)
        .where(
            table.c.user_id == user.id,
            sa.or_(table.c.last_used_step.is_(None), table.c.last_used_step < step),
        )
        .values(last_used_step=step)
    )
    db.session.refresh(cred)
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def use_recovery_code(user: User, code: str) -> bool:
    code_hash = _code_digest(code)
    row = db.session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    # Claimed with a conditional UPDATE (two requests with the same code: one wins), then written
    # through the ORM as well, so the audit trail records the use.
    table: sa.Table = RecoveryCode.__table__  # type: ignore[assignment]
    now = utcnow()
    claimed = db.session.execute(
        sa.update(table)
        .where(table.c.user_id == row.user_id, table.c.position == row.position, table.c.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    row.used_at = now
    db.session.flush()
    return True


def verify_second_factor(user: User, code: str, now: datetime | None = None) -> str | None:
    """'totp' or 'recovery_code' when the code is accepted, else None."""
    if _TOTP_CODE.fullmatch(_normalise_code(code)):
        return "totp" if verify_totp(user, code, now) else None
    if not is_enrolled(user):
        return None
    return "recovery_code" if use_recovery_code(user, code) else None


# --- Recovery codes, removal ---


def _code_digest(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode("ascii", "replace")).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def regenerate_recovery_codes(user: User) -> list[str]:
    """Ten new codes (the old ones stop working); returned once, for display."""
    for row in db.session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.session.delete(row)
    db.session.flush()  # the old rows go before new ones take their (user, position) keys
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for position, code in enumerate(codes, start=1):
        db.session.add(RecoveryCode(user_id=user.id, position=position, code_hash=_code_digest(code)))
    db.session.flush()
    return codes


def remove_second_factor(user: User) -> bool:
    """Remove the secret and the recovery codes; False when there was nothing to remove."""
    found = False
    for row in db.session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.session.delete(row)
        found = True
    cred = credential(user)
    if cred is not None:
        db.session.delete(cred)
        found = True
    db.session.flush()
    return found


def reset_second_factor(user: User) -> bool:
    """An administrator's reset (lost phone): the factor is removed and every session of the user ends,
    so the next sign-in sets it up again."""
    found = remove_second_factor(user)
    user.session_version += 1
    db.session.flush()
    return found
