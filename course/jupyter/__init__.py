"""Jupyter-side pieces: the Voila app's template (data, ``voila/templates/course``) and
the kernel websocket connection the course's servers use (``websocket``)."""
