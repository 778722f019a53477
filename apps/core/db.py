"""Small database helpers shared by the apps."""

from django.db import IntegrityError, transaction


def insert(instance) -> bool:
    """Save a new ``instance`` in a single INSERT (under a savepoint only when a caller's
    transaction is open, so a clash does not spoil it); False when a unique constraint says
    the row exists already."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                instance.save(force_insert=True)
        else:
            instance.save(force_insert=True)
    except IntegrityError:
        return False
    return True
