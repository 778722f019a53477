"""Repository configuration in Artifactory's JSON shape (key, rclass, packageType, ...)."""

from rest_framework import serializers

from .keys import validate_repository_key
from .models import Repository, VirtualMember


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
        if instance is not None and rclass != instance.rclass:
            raise serializers.ValidationError({"rclass": "the class of a repository cannot change"})
        package_type = attrs.get("package_type", getattr(instance, "package_type", None))
        if rclass == Repository.RClass.REMOTE and not attrs.get("url", getattr(instance, "url", "")):
            raise serializers.ValidationError({"url": "a remote repository needs an upstream url"})
        if "socketTimeoutMillis" in attrs:
            attrs["socket_timeout_secs"] = max(1, attrs.pop("socketTimeoutMillis") // 1000)
        members = attrs.pop("repositories", None)
        if members is not None:
            attrs["members"] = self._check_members(rclass, package_type, members)
        deployment = attrs.get("default_deployment_repo")
        if deployment is not None:
            self._check_deployment(rclass, deployment, attrs.get("members"))
        return attrs

    def _check_members(self, rclass, package_type, members):
        if rclass != Repository.RClass.VIRTUAL and members:
            raise serializers.ValidationError({"repositories": "only virtual repositories have members"})
        key = self.initial_data.get("key") or getattr(self.instance, "key", None)
        for member in members:
            if member.key == key:
                raise serializers.ValidationError({"repositories": "a repository cannot contain itself"})
            if member.package_type != package_type:
                raise serializers.ValidationError(
                    {"repositories": f"'{member.key}' is a {member.package_type} repository"})
        return list(dict.fromkeys(members))

    def _check_deployment(self, rclass, deployment, members):
        if rclass != Repository.RClass.VIRTUAL:
            raise serializers.ValidationError(
                {"defaultDeploymentRepo": "only virtual repositories deploy elsewhere"})
        if not deployment.is_local:
            raise serializers.ValidationError({"defaultDeploymentRepo": "must be a local repository"})
        if members is None and self.instance is not None:
            members = [m.member for m in VirtualMember.objects.filter(virtual=self.instance)]
        if deployment not in (members or []):
            raise serializers.ValidationError(
                {"defaultDeploymentRepo": "must be one of the virtual repository's members"})

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
            data["repositories"] = [
                m.member.key for m in
                VirtualMember.objects.filter(virtual=repository).select_related("member")]
            deployment = repository.default_deployment_repo
            data["defaultDeploymentRepo"] = deployment.key if deployment else None
        return data
