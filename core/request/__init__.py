"""Layer ``request``: what the web client and the REST API share about a request: who is
signed in, its language, CSRF checks, security headers, errors as HTTP statuses."""
