"""Bundle errors: subclasses of the one VaultError tree (mapped to HTTP by MRO in web/errors)."""

from __future__ import annotations

from ...errors import ConflictError, IntegrityError, NotFoundError, PolicyError


class BundleNotFoundError(NotFoundError):
    code = "BundleNotFound"


class BundleExistsError(ConflictError):
    """A bundle name+version is taken: bundles are immutable, publish a new version."""

    code = "BundleExists"


class BundleBlockedError(PolicyError):
    """A component fails current policy; ``details["violations"]`` lists every blocking one."""

    code = "BundleBlocked"


class PromotionOrderError(ConflictError):
    code = "PromotionOutOfOrder"


class SignatureInvalidError(IntegrityError):
    code = "SignatureInvalid"


class UntrustedKeyError(IntegrityError):
    """A bundle signed by a key this vault does not trust (register it first)."""

    code = "UntrustedKey"


class ArchiveInvalidError(IntegrityError):
    """A malformed, truncated or tampered bundle archive; nothing of it was published."""

    code = "ArchiveInvalid"
