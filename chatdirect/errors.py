"""Errors a user can act on. Raised by services, turned into messages at the edge (views, consumers)."""


class ChatDirectError(Exception):
    """Base of every error the product reports to a person in plain words."""

    code = "error"

    def __init__(self, message: str = "", **context: object) -> None:
        super().__init__(message or self.__doc__ or self.code)
        self.message = message or (self.__doc__ or self.code).strip()
        self.context = context


class CapReached(ChatDirectError):
    """This month's conversation allowance is used up."""

    code = "cap_reached"


class NotFound(ChatDirectError):
    """Not found."""

    code = "not_found"


class InvalidProviderKey(ChatDirectError):
    """The AI provider did not accept this API key."""

    code = "invalid_provider_key"


class ProviderQuotaExhausted(ChatDirectError):
    """The AI provider accepted the key, but its account has no quota or credit left."""

    code = "provider_quota_exhausted"


class ProviderKeyCheckUnavailable(ChatDirectError):
    """The AI provider could not be reached to check the key."""

    code = "provider_key_check_unavailable"


class ModelNotAllowed(ChatDirectError):
    """This model cannot be selected: it is not in the catalog, or the plan excludes it."""

    code = "model_not_allowed"
