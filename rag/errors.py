"""Errors a user can act on. Their messages say what went wrong and what to do."""


class CitebotError(Exception):
    """Base class: `str(err)` is safe to show to a user."""


class QuestionError(CitebotError, ValueError):
    """The question is empty, too long or otherwise unusable."""


class IndexMissingError(CitebotError):
    """Nothing has been ingested yet."""


class StoreUnavailableError(CitebotError):
    """The vector store (Chroma) cannot be reached."""


class IndexMismatchError(CitebotError):
    """The index was built with another embedding model or dimension."""


class GeneratorError(CitebotError):
    """The answer generator (LLM provider) failed after its retries."""


class ConfigError(CitebotError):
    """The settings ask for something that cannot work (missing key, missing extra)."""
