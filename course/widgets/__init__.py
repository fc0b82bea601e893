"""Interactive explorers (ipywidgets). Controls and views only: the maths comes
from the topic modules (``course.conv``, ``course.pool``, ...).

Each explorer is an ``ipywidgets.VBox`` (display it by leaving it last in a cell)
and is also driveable from plain Python::

    from course.widgets import KernelExplorer
    w = KernelExplorer()
    w.kernel = "sharpen"   # same as choosing it in the dropdown
    w.output               # the filtered image, from course.conv.filter_image
"""
from course.widgets.conv_arithmetic import ConvArithmeticExplorer
from course.widgets.kernels import KernelExplorer
from course.widgets.pooling import PoolingExplorer

# Later units' explorers, imported on first use so one unit's widget never
# stops another unit's from importing.
_LATER = {"SGDExplorer": "course.widgets.sgd", "NgramSamplerExplorer": "course.widgets.ngram",
          "EmbeddingExplorer": "course.widgets.embeddings",
          "RNNUnrollExplorer": "course.widgets.recurrent",
          "GradientFlowExplorer": "course.widgets.recurrent",
          "LSTMGateExplorer": "course.widgets.recurrent",
          "AttentionExplorer": "course.widgets.attention",
          "AttentionHeadExplorer": "course.widgets.attention"}

__all__ = ["KernelExplorer", "ConvArithmeticExplorer", "PoolingExplorer", *_LATER]


def __getattr__(name):
    if name in _LATER:
        import importlib

        return getattr(importlib.import_module(_LATER[name]), name)
    raise AttributeError(f"module 'course.widgets' has no attribute {name!r}")
