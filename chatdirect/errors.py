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
