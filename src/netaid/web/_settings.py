"""What one running service is configured with, from `netaid serve`'s flags or the environment.

`netaid serve` passes its flags to every worker process through the environment (NETAID_SERVE_*),
so that `uvicorn netaid.web:app` under any ASGI server reads the same settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from netaid.errors import ServiceError

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_CARDS", "ENV", "Settings"]

#: Cards per CDS Hooks response unless --max-cards says otherwise: a chart shows a few cards;
#: every card links to the full handout.
DEFAULT_MAX_CARDS = 10
#: A request body larger than this is refused with 413: one patient's prefetched Conditions,
#: Observations and Procedures are tens of kilobytes; this is netaid.fhir's bundle limit.
DEFAULT_MAX_BODY = 8 * 1024 * 1024

ENV = {
    "max_cards": "NETAID_SERVE_MAX_CARDS",
    "trust_file": "NETAID_SERVE_TRUST",
    "feedback_file": "NETAID_SERVE_FEEDBACK",
    "max_body": "NETAID_SERVE_MAX_BODY",
    "body_timeout": "NETAID_SERVE_BODY_TIMEOUT",
    "fhir_timeout": "NETAID_SERVE_FHIR_TIMEOUT",
    "public_url": "NETAID_SERVE_PUBLIC_URL",
    "cors_origins": "NETAID_SERVE_CORS_ORIGINS",
}


@dataclass(frozen=True)
class Settings:
    """One service's settings. Every field has a safe default.

    `trust_file`: issuers and their public keys; with it, every CDS Hooks request must carry a
    signed JWT (see `netaid.web._auth`). `public_url`: the service's URL as clients call it
    (behind a reverse proxy), used for the links on cards and, required with a trust file, as
    the base of the JWT audience; without it, the URL each request was made to.
    `body_timeout`: seconds a client may pause while sending its body (and six times it in
    all). `fhir_timeout`: seconds for all the calls to a client's FHIR server in one hook call.
    `cors_origins`: web origins of browser-based CDS clients allowed to call (none by default).
    """

    max_cards: int = DEFAULT_MAX_CARDS
    trust_file: Path | None = None
    feedback_file: Path = Path("netaid-feedback.jsonl")
    max_body: int = DEFAULT_MAX_BODY
    body_timeout: float = 10.0
    fhir_timeout: float = 5.0
    public_url: str | None = None
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_cards < 1:
            raise ServiceError(f"max cards must be at least 1, got {self.max_cards}")
        if self.max_body < 1024:
            raise ServiceError(f"max body must be at least 1024 bytes, got {self.max_body}")
        if self.body_timeout <= 0 or self.fhir_timeout <= 0:
            raise ServiceError("timeouts must be positive numbers of seconds")
        if self.trust_file is not None and self.public_url is None:
            # The audience a JWT must name is this URL; taken from the request's Host header,
            # a token issued for another service could be replayed here under that name.
            raise ServiceError(
                "a trust file needs the public URL (--public-url): the URL CDS clients call, "
                "which their JWTs must name as audience"
            )
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ServiceError(f"public URL must start with http:// or https://: {self.public_url}")
        for origin in self.cors_origins:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ServiceError(f"a CORS origin is scheme://host[:port], got {origin!r}")

    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables `from_env` reads."""
        env = {
            ENV["max_cards"]: str(self.max_cards),
            ENV["feedback_file"]: str(self.feedback_file),
            ENV["max_body"]: str(self.max_body),
            ENV["body_timeout"]: str(self.body_timeout),
            ENV["fhir_timeout"]: str(self.fhir_timeout),
        }
        if self.trust_file is not None:
            env[ENV["trust_file"]] = str(self.trust_file)
        if self.public_url is not None:
            env[ENV["public_url"]] = self.public_url
        if self.cors_origins:
            env[ENV["cors_origins"]] = " ".join(self.cors_origins)
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, variable in ENV.items():
            raw = environ.get(variable)
            if raw is None or raw == "":
                continue
            try:
                if name in ("max_cards", "max_body"):
                    values[name] = int(raw)
                elif name in ("body_timeout", "fhir_timeout"):
                    values[name] = float(raw)
                elif name in ("trust_file", "feedback_file"):
                    values[name] = Path(raw)
                elif name == "cors_origins":
                    values[name] = tuple(raw.split())
                else:
                    values[name] = raw
            except ValueError:
                raise ServiceError(f"{variable}: not a number: {raw!r}") from None
        return cls(**values)  # type: ignore[arg-type]
