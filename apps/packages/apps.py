from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "apps.packages"
