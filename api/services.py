"""Everything the routes use, in one typed object built once per application (``api.app.create_app``).

Routes never read ``app.state``: each service reaches them through a typed
dependency of ``api.dependencies`` (``GatewayDep``, ``RepositoryDep``, ...), so
``mypy --strict`` checks every call a route makes, and a test swaps one
service with ``app.dependency_overrides`` without touching the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from activities.types import MerchantProfileSummary
from api.audit import RejectionAudit
from api.gateway import CheckoutGateway, SessionContext
from api.limits import PlatformLimiter
from api.platform_registry import PlatformRegistry
from api.security import VerifiedPlatform
from contracts import KeyStore
from core.settings import Settings
from merchants.profiles import ProfileCache
from storage.repository import Repository
from workflows.types import PolicySnapshot


@dataclass(frozen=True)
class SessionContexts:
    """Builds what a new session's workflow starts with: who asked, at which merchant, under which policy."""

    merchant_call_timeout_seconds: int

    def for_new_session(
        self, platform: VerifiedPlatform, merchant_id: str, merchant: MerchantProfileSummary | None = None
    ) -> SessionContext:
        # Frozen into the workflow when the session starts (workflows.types.PolicySnapshot; DESIGN.md "Policy").
        policy = platform.settings.policy.for_merchant(merchant_id)
        return SessionContext(
            platform_id=platform.platform_id,
            merchant_id=merchant_id,
            policy=PolicySnapshot(**policy.model_dump()),
            webhook_url=platform.settings.webhook_url,
            webhook_allow_insecure_loopback=platform.settings.allow_insecure_loopback,
            merchant_call_timeout_seconds=self.merchant_call_timeout_seconds,
            merchant=merchant,
        )


@dataclass
class ApiServices:
    """The API's services. Only ``gateway`` changes after construction: ``api.main`` connects it in the lifespan."""

    settings: Settings
    repository: Repository
    keys: Callable[[], KeyStore]
    profiles: ProfileCache
    platforms: PlatformRegistry
    limiter: PlatformLimiter
    rejections: RejectionAudit
    session_contexts: SessionContexts
    gateway: CheckoutGateway | None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        gateway: CheckoutGateway | None,
        repository: Repository,
        keys: Callable[[], KeyStore],
        profiles: ProfileCache,
    ) -> ApiServices:
        return cls(
            settings=settings,
            repository=repository,
            keys=keys,
            profiles=profiles,
            platforms=PlatformRegistry(settings.platforms),
            limiter=PlatformLimiter(),
            rejections=RejectionAudit(repository, settings.state_dir / "spool"),
            session_contexts=SessionContexts(merchant_call_timeout_seconds=settings.merchant_call_timeout_seconds),
            gateway=gateway,
        )
