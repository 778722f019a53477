from django.db import models


class AuditEvent(models.Model):
    """One security-relevant event: who did what, when, from where. Never holds a secret."""

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    # A name, not a foreign key: the record outlives the account.
    actor = models.CharField(max_length=150, blank=True, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    target = models.CharField(max_length=1200, blank=True)
    success = models.BooleanField(default=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["action", "-time"])]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.actor or '-'} {self.action} {self.target}"
