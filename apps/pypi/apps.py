from django.apps import AppConfig


class PypiConfig(AppConfig):
    name = "apps.pypi"
    verbose_name = "PyPI"

    def ready(self):
        from django.db.models.signals import post_delete, pre_save

        from apps.packages.models import Artifact

        from .models import PypiFile

        # Files also disappear around the PyPI services (a raw-API delete, a folder delete):
        # their project's serial must still move, or its stored simple page would go stale.
        post_delete.connect(_file_deleted, sender=PypiFile, dispatch_uid="pypi_file_deleted")
        # Nor may other means (the raw API's PUT with delete permission) put other bytes under
        # an uploaded file's name: the PyPI API never reuses a file name, and the index would
        # go on advertising the old hash and metadata for the new bytes.
        pre_save.connect(_artifact_replaced, sender=Artifact, dispatch_uid="pypi_artifact_replaced")


def _file_deleted(sender, instance, **kwargs):
    from .services import project_touch

    project_touch(instance.project_id)


def _artifact_replaced(sender, instance, update_fields=None, **kwargs):
    if instance.pk is None or (update_fields is not None and "blob" not in update_fields):
        return
    from apps.core.errors import Conflict

    from .models import PypiFile

    if PypiFile.objects.filter(artifact_id=instance.pk, project__repository__rclass="local") \
            .exclude(artifact__blob_id=instance.blob_id).exists():
        raise Conflict(f"'{instance.path}' is a PyPI upload: its content never changes "
                       "(delete it, then upload again)")
