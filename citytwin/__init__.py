"""citytwin: the application shell — CLI, settings, supervision of the embedded stack and
the HTTP app that mounts every part's routes. Nothing imports this package."""
