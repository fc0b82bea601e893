"""Grading: nbgrader configured and wrapped for the course.

- ``course.grading.checks``      generic checks for assignment test cells: compare a
                                 student's answer with the expected one, name known
                                 mistakes, refuse answers that call the reference.
- ``course.grading.a1_convolution``  the checks of Assignment 1 (one module per
                                 assignment, named like the assignment folder).
- ``course.grading.check``       ``course check NB.ipynb`` and ``course.check()``:
                                 run a notebook's tests in a fresh kernel, print a table.
- ``course.grading.cli``         ``course grade release|collect|autograde|feedback|export|report``.
- ``course.grading.preprocessors``, ``course.grading.export``: nbgrader plug-ins
                                 named in ``autograder/nbgrader_config.py``.
"""
from course.grading.check import check

__all__ = ["check"]
