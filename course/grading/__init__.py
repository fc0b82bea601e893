"""The instructor's grading tooling: nbgrader configured and wrapped, never re-implemented.

- ``course.grading.commands``  ``course grade release|collect|autograde|feedback|export|report``;
- ``course.grading.workspace`` the instructor's workspace (gradebook, submissions, feedback);
- ``course.grading.instructor`` the steps behind each command; ``parallel``: autograding on N workers;
- ``course.grading.preprocessors``, ``course.grading.export``: nbgrader plug-ins named in
  ``autograder/nbgrader_config.py``; ``report``: pass rates and common failures;
- ``course.grading.sandbox``: every student kernel in bubblewrap with resource limits;
- ``course.grading.cluster``: autograding on Dask (a LocalCluster, or ``--scheduler``);
- ``course.grading.bundle``: the student bundle written on release (no answers in it);
- ``course.grading.similarity``: near-copies between submissions and of the reference code.

What runs inside a student's kernel lives in ``course.checkers``; the student's own
``course check`` is ``course.selfcheck``.
"""
