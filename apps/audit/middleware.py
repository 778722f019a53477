from . import context


class RequestContextMiddleware:
    """Makes the client address and the session user available to audit records and to the
    login throttle. Must run after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_address = context.client_address(request)
        user = getattr(request, "user", None)
        # Reading request.user loads the session user; only do it if there is a session.
        actor = user.get_username() if user is not None and user.is_authenticated else ""
        token = context.begin(client_address=request.client_address, actor=actor)
        try:
            return self.get_response(request)
        finally:
            context.end(token)
