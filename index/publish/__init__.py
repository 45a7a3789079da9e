"""The publication layer: tables, figures, report and manifest of one edition, written atomically."""

from index.publish.build import Publication, ResultLike, assemble, build_publication
from index.publish.manifest import Verification, verify

__all__ = ["Publication", "ResultLike", "Verification", "assemble", "build_publication", "verify"]
