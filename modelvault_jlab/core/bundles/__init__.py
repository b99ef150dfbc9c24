"""Release bundles: immutable, signed, promotable and portable sets of pinned components."""

from .manifest import BundleManifest, canonical_json
from .service import BundleService

__all__ = ["BundleManifest", "BundleService", "canonical_json"]
