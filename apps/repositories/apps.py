from django.apps import AppConfig


class RepositoriesConfig(AppConfig):
    name = "apps.repositories"

    def ready(self):
        from apps.core.config_cache import watch

        from .models import Repository, VirtualMember

        watch(Repository, VirtualMember)
