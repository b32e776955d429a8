"""Layer ``http``: the Flask application factory and the production server."""
