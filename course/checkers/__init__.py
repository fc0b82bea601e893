"""Checkers: the code that runs inside a student's kernel, called by the test cells
of the assignments.

- ``course.checkers.core``: generic checks (compare an answer with the expected one,
  name known mistakes, refuse answers that delegate to the course's reference or torch);
- ``course.checkers.wrong_answers``: the wrong answers common mistakes produce, shared;
- ``course.checkers.<assignment>``: one module per assignment, named like its folder in
  ``solutions/`` (``a1_convolution``, ``a2_backprop_cnn``, ...).
"""
