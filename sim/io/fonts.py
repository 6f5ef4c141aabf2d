"""The CJK font of charts and PDFs, shipped by a Python package (no system font needed).

The font is WenQuanYi Micro Hei, a TrueType collection from the ``paperang-p2-fonts-cjk``
wheel, found through :mod:`importlib.resources`.  TrueType matters: matplotlib and
reportlab both read it, so a chart and a statement PDF set Chinese in the same face, and
reportlab embeds it as a subset whose text stays extractable.  It lives in ``io`` (a file
the workbench reads) so that statements (``incentives``) and charts (``reports``) share it.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

__all__ = [
    "CJK_FAMILY",
    "FONT_PACKAGE",
    "PDF_FONT",
    "font_face_css",
    "font_path",
    "register_matplotlib",
    "register_reportlab",
]

FONT_PACKAGE = "paperang_p2_fonts_cjk"
CJK_FAMILY = "WenQuanYi Micro Hei"
"""The family name matplotlib knows the font by."""
PDF_FONT = "WenQuanYiMicroHei"
"""The name the font is registered under in reportlab."""
_LATIN_FALLBACK = ("DejaVu Sans", "Arial", "Liberation Sans", "sans-serif")


@cache
def font_path() -> Path:
    """The ``.ttc`` file of the CJK font, inside its installed package."""
    from sim.errors import ConfigError

    try:
        resource = importlib.resources.files(FONT_PACKAGE) / "fonts" / "wqy-microhei.ttc"
    except ModuleNotFoundError:
        raise ConfigError(
            f"the CJK font package {FONT_PACKAGE.replace('_', '-')} is not installed "
            "(it is a dependency: reinstall the workbench)"
        ) from None
    path = Path(str(resource))
    if not path.is_file():
        raise ConfigError(f"{path}: the CJK font file is missing from its package")
    return path


def register_matplotlib() -> str:
    """Make the CJK font matplotlib's sans-serif face, Latin fallbacks after it.

    Every text of a figure (titles, ticks, legends) then finds its Chinese glyphs; digits
    and Latin letters come from the same face.  Idempotent: the font is added once.
    Returns the family name.
    """
    import logging

    import matplotlib as mpl
    from matplotlib import font_manager

    # A bold or italic request falls back to the regular face; matplotlib would log that
    # on stderr, which a rendered report shows as a warning block.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    path = str(font_path())
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    rest = [f for f in mpl.rcParams["font.sans-serif"] if f != CJK_FAMILY]
    mpl.rcParams["font.sans-serif"] = [CJK_FAMILY, *_LATIN_FALLBACK, *rest]
    mpl.rcParams["font.family"] = ["sans-serif"]
    return CJK_FAMILY


def register_reportlab() -> str:
    """Register the CJK font with reportlab (first face of the collection); returns its
    name, for ``fontName`` in paragraph and table styles.  Idempotent."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(PDF_FONT, str(font_path()), subfontIndex=0))
    return PDF_FONT


def font_face_css(text: str, family: str = CJK_FAMILY) -> str:
    """An ``@font-face`` rule embedding the CJK font, cut down to the characters of *text*,
    as a data URI: an HTML page showing *text* needs no font of the reader's machine and
    loads nothing from the network.  Put *family* first in the page's ``font-family``."""
    import base64
    import io
    import logging

    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # notes on dropped tables
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False  # screens do not need the hints; the file is half the size
    options.drop_tables += ["FFTM"]
    font = TTFont(str(font_path()), fontNumber=0, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'@font-face{{font-family:"{family}";'
        f'src:url(data:font/ttf;base64,{data}) format("truetype");}}'
    )
