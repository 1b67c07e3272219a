"""Users and their tokens: create, delete, rotate, the same for ``POST/DELETE /api/v1/users/``
and ``scos-gr createuser|deleteuser|rotatetoken``.

A token is shown once, when it is made; the store keeps only its SHA-256. Rotating a token
replaces that hash, so the old token stops working with the very next request. A user who owns
schedule entries cannot be deleted (the entries and their recordings would lose their owner):
the error names them, and whoever deletes the user deletes or hands on the entries first.
Whether a name is well formed (the document's ``Name`` rule) is checked by the caller, which
knows how to word it for its audience.
"""
from __future__ import annotations

import peewee

from scos_gr import store
from scos_gr.errors import UserError

#: ``/api/v1/users/me/`` is the caller, so no user may be called that
RESERVED_NAMES = frozenset({"me"})


class NoSuchUser(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"there is no user named {name!r}")


class UserExists(UserError):
    def __init__(self, name: str, asked: str | None = None) -> None:
        also = "" if asked in (None, name) else " (names that differ only in case are one name)"
        super().__init__(f"a user named {name!r} already exists{also}")


class ReservedName(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is reserved: /api/v1/users/{name}/ means the caller")


class UserOwnsEntries(UserError):
    def __init__(self, name: str, entries: list[str]) -> None:
        super().__init__(f"user {name!r} owns {len(entries)} schedule entr{'y' if len(entries) == 1 else 'ies'} "
                         f"({', '.join(entries)}); delete them first")
        self.entries = entries


class LastAdmin(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is the only admin; make another admin before deleting it")


def create_user(name: str, is_admin: bool = False) -> tuple[store.User, str]:
    """A new user and its token (shown once)."""
    if name in RESERVED_NAMES:
        raise ReservedName(name)
    with store.write_transaction():
        same = store.User.get_or_none(store.same_name(store.User.name, name))
        if same is not None:
            raise UserExists(same.name, name)
        try:
            return store.User.create_with_token(name, is_admin=is_admin)
        except peewee.IntegrityError:  # made by someone else between the check and the insert
            raise UserExists(name) from None


def delete_user(name: str, *, keep_an_admin: bool) -> None:
    """Delete a user who owns no entry. ``keep_an_admin``: refuse to delete the last admin (the
    API keeps someone who can manage it; the command line can always make a new admin)."""
    with store.write_transaction():
        user = store.User.get_or_none(store.User.name == name)
        if user is None:
            raise NoSuchUser(name)
        owned = [e.name for e in store.ScheduleEntry.select(store.ScheduleEntry.name)
                 .where(store.ScheduleEntry.owner == user).order_by(store.ScheduleEntry.name)]
        if owned:
            raise UserOwnsEntries(name, owned)
        if keep_an_admin and user.is_admin and \
                not store.User.select().where(store.User.is_admin & (store.User.id != user.id)).exists():
            raise LastAdmin(name)
        user.delete_instance()


def rotate_token(name: str) -> tuple[store.User, str]:
    """The user with a new token (shown once); the old one stops working at once."""
    with store.write_transaction():
        user = store.User.get_or_none(store.User.name == name)
        if user is None:
            raise NoSuchUser(name)
        return user, user.rotate_token()
