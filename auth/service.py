"""Users and sign-in. Plain functions: unit of work first, keyword arguments after."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from auth.errors import InvalidCredentials
from auth.models import User
from auth.passwords import hash_password, needs_rehash, verify_password
from kernel.clock import utcnow


def create_user(uow, *, email: str, full_name: str, password: str | None, locale: str | None = None) -> User:
    user = User(
        email=email.strip(), full_name=full_name, password_hash=hash_password(password) if password else None, locale=locale
    )
    uow.add(user)
    uow.flush()
    return user


def find_user_by_email(uow, *, email: str) -> User | None:
    return uow.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def get_user(uow, *, user_id: uuid.UUID) -> User | None:
    return uow.session.get(User, user_id)


def authenticate(uow, *, email: str, password: str) -> User:
    """Check a password; raise InvalidCredentials with one message for every failure."""
    user = find_user_by_email(uow, email=email)
    ok = verify_password(user.password_hash if user else None, password)
    if not user or not ok or not user.is_active:
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    uow.flush()
    return user


def set_locale(uow, *, user_id: uuid.UUID, locale: str) -> None:
    user = uow.session.get(User, user_id)
    if user is not None:
        user.locale = locale
        uow.flush()
