"""Certificate login: 工商憑證 (MOEACA) and 自然人憑證 (MOICA) smart cards.

The browser cannot reach the card; the applicant's PC runs the HiPKI local signing service,
which signs the server's challenge as CMS SignedData. Here: verify that signature
(:mod:`.cms`), validate the signer certificate against the configured trust anchors
(:mod:`.validation`) and its revocation (:mod:`.revocation`), and read the identity in it
(:mod:`.identity`).
"""

from .errors import CertificateRefused

__all__ = ["CertificateRefused"]
