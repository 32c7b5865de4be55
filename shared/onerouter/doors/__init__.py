"""Front doors: other APIs' wire formats translated, at the edge, into the one internal request
(OpenAI's chat shape) and back. Pure translation, no I/O; the routes in `api/routes/` do that."""
