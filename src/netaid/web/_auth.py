"""Trusting CDS clients: the signed JWT that CDS Hooks asks every request to carry.

The trust file names the issuers netaid trusts and their public keys (JSON or YAML):

    issuers:
      - iss: https://ehr.example.org/
        jwks: {keys: [{kty: EC, crv: P-384, kid: ehr-1, x: ..., y: ...}]}
      - iss: https://other.example.org/
        jwks_file: other-jwks.json       # relative to the trust file
      - iss: https://third.example.org/
        public_key_file: third.pem       # a PEM public key, for any kid

A request is accepted when its `Authorization: Bearer` JWT is signed with an asymmetric
algorithm (never `none`, never HMAC) by a key of its issuer, names this endpoint's URL in
`aud`, has not expired, and its `jti` has not been seen before (each worker process remembers
the jtis of unexpired tokens). Keys are never fetched from a `jku` URL: they come from the
trust file only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from netaid.errors import FieldProblem, RequestError, ServiceError

__all__ = ["ALGORITHMS", "MAX_LIFETIME", "Trust", "load_trust"]

#: Asymmetric signatures only, as CDS Hooks requires (ES384 and RS384 recommended).
ALGORITHMS = (
    "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
)  # fmt: skip
#: A token may be valid for at most this long: CDS clients sign one per request.
MAX_LIFETIME = 3600
#: Seconds of clock difference tolerated between client and service.
LEEWAY = 30
#: Remembered jtis per process, beyond which expired ones are forgotten first.
_MAX_JTIS = 200_000


def _refuse(message: str) -> RequestError:
    return RequestError(401, [FieldProblem("Authorization", message)], code="login")


@dataclass
class _Issuer:
    iss: str
    keys: dict[str | None, Any]  # kid -> key; None: a key for any kid


@dataclass
class Trust:
    """The issuers netaid trusts, and the jtis already used."""

    issuers: dict[str, _Issuer]
    _seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, authorization: str | None, audiences: Iterable[str]) -> dict[str, Any]:
        """The claims of a valid token for one of `audiences`, else a 401 RequestError."""
        if not authorization:
            raise _refuse("missing: this service requires a signed JWT (Bearer)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _refuse("expected 'Bearer <JWT>'")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _refuse(f"not a JWT: {exc}") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise _refuse(f"algorithm {alg!r} not accepted (asymmetric signatures only)")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise _refuse(f"issuer {iss!r} is not trusted")
        kid = header.get("kid")
        key = issuer.keys.get(kid) if kid is not None else None
        if key is None:
            key = issuer.keys.get(None)
        if key is None:
            raise _refuse(f"no key {kid!r} for issuer {iss!r}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=list(audiences),
                issuer=iss,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.InvalidAudienceError:
            raise _refuse("aud does not name this endpoint's URL") from None
        except jwt.ExpiredSignatureError:
            raise _refuse("token expired") from None
        except jwt.PyJWTError as exc:
            raise _refuse(f"invalid token: {exc}") from None
        now = time.time()
        exp = float(claims["exp"])
        if exp - now > MAX_LIFETIME:
            raise _refuse(f"token valid for more than {MAX_LIFETIME} seconds")
        self._remember(str(claims["jti"]), exp, now)
        return claims

    def _remember(self, jti: str, exp: float, now: float) -> None:
        with self._lock:
            if jti in self._seen and self._seen[jti] + LEEWAY >= now:
                raise _refuse("jti already used (a replayed token)")
            if len(self._seen) >= _MAX_JTIS:
                self._seen = {j: e for j, e in self._seen.items() if e + LEEWAY >= now}
                while len(self._seen) >= _MAX_JTIS:
                    del self._seen[next(iter(self._seen))]
            self._seen[jti] = exp


def _key_from_jwk(jwk: Mapping[str, Any], where: str) -> tuple[str | None, Any]:
    try:
        parsed = jwt.PyJWK(dict(jwk))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise ServiceError(f"{where}: not a usable public JWK: {exc}") from None
    if parsed.key_type in ("oct",):
        raise ServiceError(f"{where}: symmetric keys are not accepted")
    if "d" in jwk:
        raise ServiceError(f"{where}: a private key; give the public key only")
    kid = jwk.get("kid")
    return (str(kid) if kid is not None else None), parsed.key


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceError(f"{what}: cannot read {path}: {exc}") from None


def load_trust(path: Path) -> Trust:
    """Read a trust file; ServiceError naming the file and entry for anything wrong."""
    text = _read(path, "trust file")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ServiceError(f"trust file {path}: not valid JSON or YAML: {exc}") from None
    entries = data.get("issuers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ServiceError(f"trust file {path}: expected 'issuers:', a list of issuers")
    issuers: dict[str, _Issuer] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"trust file {path}: issuer {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("iss"), str):
            raise ServiceError(f"{where}: expected a mapping with 'iss' (the issuer's URI)")
        iss = entry["iss"]
        keys: dict[str | None, Any] = {}
        jwks = entry.get("jwks")
        if "jwks_file" in entry:
            jwks_path = path.parent / str(entry["jwks_file"])
            try:
                jwks = json.loads(_read(jwks_path, where))
            except json.JSONDecodeError as exc:
                raise ServiceError(f"{where}: {jwks_path} is not JSON: {exc}") from None
        if jwks is not None:
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise ServiceError(f"{where}: a JWK Set is an object with 'keys', a list")
            for index, jwk in enumerate(jwks["keys"]):
                if not isinstance(jwk, dict):
                    raise ServiceError(f"{where}: key {index} is not an object")
                kid, key = _key_from_jwk(jwk, f"{where}: key {index}")
                keys[kid] = key
        if "public_key_file" in entry:
            pem_path = path.parent / str(entry["public_key_file"])
            try:
                keys[None] = load_pem_public_key(_read(pem_path, where).encode())
            except ValueError as exc:
                raise ServiceError(f"{where}: {pem_path} is not a PEM public key: {exc}") from None
        if not keys:
            raise ServiceError(f"{where}: no keys (give jwks, jwks_file or public_key_file)")
        issuers[iss] = _Issuer(iss, keys)
    return Trust(issuers)
