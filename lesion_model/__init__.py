"""CT lesion annotation: patches from CT, the multi-scale multi-label CNN, evaluation, annotation.

Labels come from :mod:`radminer`; torch, torchvision and SimpleITK come with the ``model`` extra
(``pip install 'radminer[model]'``) and are imported only by the modules that need them.
"""

from radminer import __version__

__all__ = ["__version__"]
