"""Jupyter-side pieces: the Voila app's template (data, ``voila/templates/course``),
the kernel websocket connection the course's servers use (``websocket``) and the
zero-install site's builder (``lite_site``)."""
