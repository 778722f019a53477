from django.apps import AppConfig


class DockerConfig(AppConfig):
    name = "apps.docker"
    label = "docker"
    verbose_name = "Docker / OCI registry"
