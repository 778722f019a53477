"""What makes a repository configuration valid, in one place for the REST API and the admin.

Each function returns the problems it finds as {field: message}; empty means valid.
"""

from .models import Repository

VIRTUAL, REMOTE = Repository.RClass.VIRTUAL, Repository.RClass.REMOTE


def config_problems(*, rclass: str, url: str, previous_rclass: str | None = None) -> dict[str, str]:
    problems = {}
    if previous_rclass is not None and rclass != previous_rclass:
        problems["rclass"] = "the class of a repository cannot change"
    if rclass == REMOTE and not url:
        problems["url"] = "a remote repository needs an upstream url"
    return problems


def member_problems(*, key: str, rclass: str, package_type: str, members: list[Repository]) -> dict[str, str]:
    if members and rclass != VIRTUAL:
        return {"repositories": "only virtual repositories have members"}
    for member in members:
        if member.key == key:
            return {"repositories": "a repository cannot contain itself"}
        if member.package_type != package_type:
            return {"repositories": f"'{member.key}' is a {member.package_type} repository"}
    return {}


def deployment_problems(*, rclass: str, deployment: Repository | None,
                        members: list[Repository] | None) -> dict[str, str]:
    """``members`` None: the member list is not known yet, so membership is not checked."""
    if deployment is None:
        return {}
    if rclass != VIRTUAL:
        return {"defaultDeploymentRepo": "only virtual repositories deploy elsewhere"}
    if not deployment.is_local:
        return {"defaultDeploymentRepo": "must be a local repository"}
    if members is not None and deployment not in members:
        return {"defaultDeploymentRepo": "must be one of the virtual repository's members"}
    return {}
