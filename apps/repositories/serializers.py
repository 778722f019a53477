"""Repository configuration in Artifactory's JSON shape (key, rclass, packageType, ...)."""

from rest_framework import serializers

from . import rules
from .keys import validate_repository_key
from .models import Repository
from .selectors import members_of


class RepositoryKeyField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="key", queryset=Repository.objects.all(), **kwargs)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError(f"repository '{data}' does not exist") from None


class RepositoryConfigSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=64)
    rclass = serializers.ChoiceField(choices=Repository.RClass.choices)
    packageType = serializers.ChoiceField(source="package_type", choices=Repository.PackageType.choices,
                                          default=Repository.PackageType.GENERIC)
    description = serializers.CharField(max_length=1024, allow_blank=True, required=False)
    notes = serializers.CharField(allow_blank=True, required=False)
    includesPattern = serializers.CharField(source="includes_pattern", max_length=1024,
                                            allow_blank=True, required=False)
    excludesPattern = serializers.CharField(source="excludes_pattern", max_length=1024,
                                            allow_blank=True, required=False)
    url = serializers.URLField(max_length=1024, allow_blank=True, required=False)
    username = serializers.CharField(max_length=256, allow_blank=True, required=False)
    password = serializers.CharField(max_length=1024, allow_blank=True, required=False, write_only=True)
    retrievalCachePeriodSecs = serializers.IntegerField(source="metadata_retrieval_cache_secs",
                                                        min_value=0, required=False)
    missedRetrievalCachePeriodSecs = serializers.IntegerField(source="missed_retrieval_cache_secs",
                                                              min_value=0, required=False)
    socketTimeoutMillis = serializers.IntegerField(min_value=1000, required=False)
    offline = serializers.BooleanField(required=False)
    storeArtifactsLocally = serializers.BooleanField(source="store_artifacts_locally", required=False)
    repositories = serializers.ListField(child=RepositoryKeyField(), required=False)
    defaultDeploymentRepo = RepositoryKeyField(source="default_deployment_repo", required=False,
                                               allow_null=True)

    def validate_key(self, value):
        from django.core.exceptions import ValidationError

        try:
            validate_repository_key(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate(self, attrs):
        instance = self.instance
        rclass = attrs.get("rclass", getattr(instance, "rclass", None))
        package_type = attrs.get("package_type", getattr(instance, "package_type", None))
        self._raise(rules.config_problems(
            rclass=rclass, url=attrs.get("url", getattr(instance, "url", "")),
            previous_rclass=instance.rclass if instance is not None else None))
        if "socketTimeoutMillis" in attrs:
            attrs["socket_timeout_secs"] = max(1, attrs.pop("socketTimeoutMillis") // 1000)
        members = attrs.pop("repositories", None)
        if members is not None:
            key = self.initial_data.get("key") or getattr(instance, "key", None)
            self._raise(rules.member_problems(key=key, rclass=rclass, package_type=package_type,
                                              members=members))
            attrs["members"] = list(dict.fromkeys(members))
        deployment = attrs.get("default_deployment_repo")
        if deployment is not None:  # only then are the members needed
            known_members = attrs.get("members")
            if known_members is None and instance is not None:
                known_members = members_of(instance)
            self._raise(rules.deployment_problems(rclass=rclass, deployment=deployment,
                                                  members=known_members or []))
        return attrs

    @staticmethod
    def _raise(problems: dict[str, str]) -> None:
        if problems:
            raise serializers.ValidationError(problems)

    def to_representation(self, repository: Repository) -> dict:
        data = {
            "key": repository.key,
            "rclass": repository.rclass,
            "packageType": repository.package_type,
            "description": repository.description,
            "notes": repository.notes,
            "includesPattern": repository.includes_pattern,
            "excludesPattern": repository.excludes_pattern,
        }
        if repository.is_remote:
            data.update({
                "url": repository.url,
                "username": repository.username,
                "retrievalCachePeriodSecs": repository.metadata_retrieval_cache_secs,
                "missedRetrievalCachePeriodSecs": repository.missed_retrieval_cache_secs,
                "socketTimeoutMillis": repository.socket_timeout_secs * 1000,
                "offline": repository.offline,
                "storeArtifactsLocally": repository.store_artifacts_locally,
            })
        if repository.is_virtual:
            data["repositories"] = [member.key for member in members_of(repository)]
            deployment = repository.default_deployment_repo
            data["defaultDeploymentRepo"] = deployment.key if deployment else None
        return data
