from django.apps import AppConfig


class PypiConfig(AppConfig):
    name = "apps.pypi"
    verbose_name = "PyPI"

    def ready(self):
        from django.db.models.signals import post_delete

        from .models import PypiFile

        # Files also disappear around the PyPI services (a raw-API delete, a folder delete):
        # their project's serial must still move, or its stored simple page would go stale.
        post_delete.connect(_file_deleted, sender=PypiFile, dispatch_uid="pypi_file_deleted")


def _file_deleted(sender, instance, **kwargs):
    from .services import project_touch

    project_touch(instance.project_id)
