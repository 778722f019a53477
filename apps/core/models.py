from django.db import models


class ConfigGeneration(models.Model):
    """One row whose value changes whenever configuration that requests read changes (see
    apps.core.config_cache)."""

    value = models.BigIntegerField(default=0)
