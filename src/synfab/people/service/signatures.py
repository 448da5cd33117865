"""Electronic signatures on regulated actions: releasing a held lot, approving a nonconformance, overriding a
qualification, changing a released routing or BOM.

Signing means re-authenticating (password, and the second factor when the person has one) and stating a
meaning and a reason. The signature is stored with the record it is about and goes into the audit chain with
the action, in the same transaction; a refused signature performs nothing, and the refusal is audited on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core.context import client_addr_var, current_actor
from synfab.core.db import Database
from synfab.core.errors import Forbidden, Invalid, Unauthenticated
from synfab.core.i18n import LazyText, _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import ESignature, User
from synfab.people.schemas import SignatureIn
from synfab.people.service.accounts import authenticate
from synfab.people.service.audit import note_security_event

T = TypeVar("T")


class SignatureRefused(Forbidden):
    """Re-authentication failed: nothing was done."""


def sign(uow: UnitOfWork, data: SignatureIn, *, action: str, object_type: str, object_id: object,
         signer_id: int | None = None) -> ESignature:
    """Check the signer again and record the signature. `signer_id` names someone other than the acting person
    (a supervisor signing at an operator's terminal); by default the acting person signs."""
    s = uow.session
    user_id = signer_id if signer_id is not None else current_actor().user_id
    user = s.get(User, user_id) if user_id is not None else None
    if user is None:
        raise SignatureRefused("signature_no_signer", _l("Only a signed-in person can sign."))
    try:
        authenticate(s, user.username, data.password)
    except Unauthenticated:
        raise SignatureRefused("signature_refused", _l(
            "The password does not match {name}'s: the signature is refused and nothing was done.",
            name=user.display_name)) from None
    from synfab.people.service.security import check_second_factor

    check_second_factor(user, data.totp, refused=SignatureRefused)
    reason = data.reason.strip()
    if not reason:
        raise Invalid("signature_reason_required", _l("Say why you sign: a reason is required."))
    signature = ESignature(user_id=user.id, username=user.username, display_name=user.display_name,
                           meaning=data.meaning, action=action, object_type=object_type, object_id=str(object_id),
                           reason=reason, client_addr=client_addr_var.get())
    s.add(signature)
    uow.flush()
    return signature


def perform_signed(db: Database, data: SignatureIn | None, *, action: str, object_type: str, object_id: object,
                   perform: Callable[[UnitOfWork, ESignature | None], T], signer_id: int | None = None) -> T:
    """Sign and perform a regulated action in one transaction; a refused signature performs nothing and is
    audited in its own transaction (the attempt is on record, the action is not). Without `data` the action is
    performed unsigned: the service decides whether that is allowed (a draft needs no signature)."""
    if data is None:
        with db.uow() as uow:
            result = perform(uow, None)
            uow.commit()
            return result
    try:
        with db.uow() as uow:
            signature = sign(uow, data, action=action, object_type=object_type, object_id=object_id,
                             signer_id=signer_id)
            result = perform(uow, signature)
            uow.commit()
            return result
    except SignatureRefused as refusal:
        with db.uow() as uow:
            note_security_event(uow, "signature_refused", object_type, object_id,
                                {"action": action, "signer_id": signer_id or current_actor().user_id,
                                 "reason": refusal.code})
            uow.commit()
        raise


def check_signature(signature: ESignature | None, object_type: str, object_id: object, refusal: LazyText) -> str:
    """The reason of a signature made on this record, or `signature_required` with `refusal` (what needs one)."""
    if signature is None or signature.object_type != object_type or signature.object_id != str(object_id):
        raise Invalid("signature_required", refusal)
    return signature.reason


def signatures_for(session: Session, object_type: str, object_id: object) -> list[ESignature]:
    """A record's signatures, oldest first (shown with the record)."""
    return list(session.scalars(select(ESignature).where(
        ESignature.object_type == object_type, ESignature.object_id == str(object_id)).order_by(ESignature.id)))
