"""The caller's own provider keys for one request (bring your own key): the request's
`byok_conf`, then the account's stored keys. An own key's endpoints are tried before the
shared key's; whether the shared keys may serve at all when it fails is the key's to say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..requests import ByokConf


class Credential(Protocol):
    """A stored key as the vault hands it over (accounts/provider_keys.StoredCredential)."""

    @property
    def provider(self) -> str: ...

    @property
    def api_key(self) -> str: ...

    @property
    def fallback(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class OwnKey:
    provider: str
    api_key: str = field(repr=False)
    # The shared key of this provider may serve when this one fails.
    fallback: bool


@dataclass(frozen=True, slots=True)
class OwnKeys:
    keys: Mapping[str, OwnKey]
    # The request's byok_conf without fallback: no shared key serves this request at all.
    only: bool = False
    # The provider the request's byok_conf named, as the request spelled it (for errors).
    named: str | None = None

    def __bool__(self) -> bool:
        return bool(self.keys)

    def shared_may_serve(self, provider: str) -> bool:
        if self.only:
            return False
        own = self.keys.get(provider)
        return own is None or own.fallback


NONE = OwnKeys({})


def own_keys(
    conf: ByokConf | None, stored: Mapping[str, Credential], providers: Mapping[str, str]
) -> OwnKeys:
    """`providers`: the catalog's provider ids by their lower-case spelling. The request's
    key for a provider replaces a stored one; an unknown provider is the caller's to hear
    about (routing raises it, naming the field)."""
    keys = {
        name: OwnKey(name, credential.api_key, credential.fallback)
        for name, credential in stored.items()
    }
    if conf is None:
        return OwnKeys(keys)
    provider = providers.get(conf.provider.lower(), conf.provider)
    keys[provider] = OwnKey(provider, conf.credentials.api_key, conf.fallback)
    return OwnKeys(keys, only=not conf.fallback, named=provider)
