from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from synfab.people.choices import SignatureMeaning


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10, description="Second-factor code, if set up.")


class SessionRead(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    permissions: list[str]
    locale: str | None
    csrf_token: str | None
    must_enroll_second_factor: bool = False


class PasswordChange(BaseModel):
    current: str = Field(min_length=1, max_length=200)
    new: str = Field(min_length=1, max_length=200)


class SecondFactorStart(BaseModel):
    secret: str
    uri: str
    qr_svg: str


class CodeIn(BaseModel):
    code: str = Field(min_length=6, max_length=10)


class SecondFactorRemove(BaseModel):
    password: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=6, max_length=10)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    permissions: list[str]
    days: int = Field(default=90, ge=1, le=366)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    permissions: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret, shown this once: send it as `Authorization: Bearer <token>`.")


class GrantRead(BaseModel):
    id: int
    role: str
    role_name: str
    node_id: int
    node_code: str
    granted_by: str
    granted_at: datetime


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    active: bool
    locale: str | None
    second_factor: bool
    last_login_at: datetime | None
    locked: bool
    version: int
    grants: list[GrantRead]


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    role: str
    node_id: int


class UserChange(BaseModel):
    version: int
    active: bool


class GrantCreate(BaseModel):
    role: str
    node_id: int


class PasswordReset(BaseModel):
    password: str = Field(min_length=1, max_length=200)


class RoleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None
    permissions: list[str]
    builtin: bool
    version: int


class RoleCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    permissions: list[str]


class RoleUpdate(BaseModel):
    version: int
    permissions: list[str]
    name: str | None = Field(default=None, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)


class SignatureIn(BaseModel):
    """What a person enters to sign: their password again (and a second-factor code if they use one),
    what the signature means, and why."""

    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10)
    meaning: SignatureMeaning
    reason: str = Field(min_length=1, max_length=2000)
