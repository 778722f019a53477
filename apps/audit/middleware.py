from . import context


class RequestContextMiddleware:
    """Makes the client address and the acting user available to audit records and to the
    login lock-out, wherever in the request they are written."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.begin(request)
        request.client_address = context.current().client_address
        try:
            return self.get_response(request)
        finally:
            context.end(token)
