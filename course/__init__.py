"""An interactive deep-learning course: NumPy reference implementations,
checked against PyTorch, with widgets and nbgrader assignments.

Topic modules (one concept per file):

- ``course.conv``  convolution (cross-correlation), padding, output size, kernels
- ``course.pool``  max and average pooling
- ``course.data``  offline data: sample photograph, test patterns

Import a topic module directly: ``from course import conv``.
"""

__version__ = "0.1.0"
