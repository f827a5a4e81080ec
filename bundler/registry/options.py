"""How bundler talks to one side's registries, as oc-mirror's flags set it: ``--retry-times``,
``--retry-delay``, ``--src-tls-verify`` / ``--dest-tls-verify``."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RETRIES = 4


@dataclass(frozen=True)
class ConnectOptions:
    tls_verify: bool = True
    """False: accept any certificate (the CLI says so loudly first). Never the default."""
    retries: int = DEFAULT_RETRIES
    """Retries of a request that failed to connect, timed out, had its TLS handshake broken, or got 429/5xx."""
    retry_delay: float | None = None
    """Seconds between retries; None: exponential backoff from 0.5 s to 8 s (a 429's Retry-After wins)."""

    def delay(self, previous: float | None) -> float:
        """The wait before the next retry, given the one before (None: the first retry)."""
        if self.retry_delay is not None:
            return self.retry_delay
        return 0.5 if previous is None else min(previous * 2, 8.0)
