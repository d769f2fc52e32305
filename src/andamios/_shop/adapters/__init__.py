"""The shop's adapters: the table mapping (SQLAlchemy) and an outbox for notifications."""

__all__: list[str] = []
