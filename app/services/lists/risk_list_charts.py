"""Charts for a week's list (PNG, matplotlib, labelled in Chinese): households flagged over the last 12
weeks by township, and the distribution of reasons.

Chinese needs a CJK font: the set-up installs Noto Sans CJK (Debian's fonts-noto-cjk; also in the
Dockerfile). Without one a chart is refused (503) rather than drawn with empty boxes.
"""

import io
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from app.errors import AppError
from app.schemas.risk_lists import RiskListSummary
from app.services.lists import risk_list_summary
from app.services.lists.risk_lists import REASON_LABELS

NAMES = ("flagged-by-township", "reasons")
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
)
CJK_FILES = ("NotoSansCJK", "NotoSansSC", "SourceHanSans", "wqy-microhei", "wqy-zenhei")


class ChartsUnavailable(AppError):
    status_code = 503
    code = "charts_unavailable"


# matplotlib's settings (the font among them) are global: requests render one at a time
RENDERING = threading.Lock()


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The first installed CJK font family matplotlib can use. A font installed after matplotlib built
    its font cache is not in the cache: the system's font folders are searched for one and added."""
    found = _known_family()
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(part in Path(path).name for part in CJK_FILES):
                font_manager.fontManager.addfont(path)
        found = _known_family()
    if found is None:
        raise ChartsUnavailable(
            "no CJK font is installed (fonts-noto-cjk): charts would show boxes for Chinese", field="name"
        )
    return found


def _known_family() -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _style(family: str) -> Any:
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
    }


def flagged_by_township(summary: RiskListSummary) -> bytes:
    """Households at high or medium risk in each of the last 12 weekly lists, a line per township (the
    summary's trend: the dashboard draws the same figures)."""
    import matplotlib

    family = cjk_font()
    weeks = [w.week for w in summary.trend]
    lines = risk_list_summary.township_trend(summary)
    with matplotlib.rc_context(_style(family)):
        figure = _figure(10, 5.5)
        axes = figure.add_subplot()
        for name, line in lines:
            axes.plot(range(len(weeks)), line, marker="o", label=name)
        axes.set_xticks(range(len(weeks)), [w.replace("-", "\n") for w in weeks], fontsize=8)
        axes.set_title(f"近 {len(weeks)} 周高、中风险户数（按乡镇）")
        axes.set_ylabel("户数")
        axes.grid(alpha=0.3)
        if lines:
            axes.legend(fontsize=8, ncols=2, loc="upper left")
        else:
            axes.text(0.5, 0.5, "无高、中风险户", ha="center", va="center", transform=axes.transAxes)
        return _png(figure)


def reasons(summary: RiskListSummary) -> bytes:
    """How many listed households each reason applies to, most frequent first."""
    import matplotlib

    family = cjk_font()
    items = list(summary.by_reason.items())[:15][::-1]
    with matplotlib.rc_context(_style(family)):
        figure = _figure(9, 5.5)
        axes = figure.add_subplot()
        labels = [REASON_LABELS.get(code, code) for code, _ in items]
        bars = axes.barh(labels, [n for _, n in items], color="#4472C4")
        axes.bar_label(bars, fontsize=8, padding=2)
        axes.set_title(f"{summary.week} 风险原因分布（户数）")
        axes.set_xlabel("户数")
        if not items:
            axes.text(0.5, 0.5, "无风险原因", ha="center", va="center", transform=axes.transAxes)
        return _png(figure)


def render(name: str, summary: RiskListSummary) -> bytes:
    with RENDERING:
        if name == "flagged-by-township":
            return flagged_by_township(summary)
        return reasons(summary)
