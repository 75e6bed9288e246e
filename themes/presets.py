"""Theme presets a brokerage starts from, and the font stacks we offer (system fonts: no font CDN)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class ThemePreset:
    code: str
    name: str
    primary: str
    accent: str
    font: str
    dark_header: bool


PRESETS: dict[str, ThemePreset] = {
    p.code: p
    for p in [
        ThemePreset("midnight", "Midnight (navy and gold)", "#1b2a4a", "#c9a227", "system", True),
        ThemePreset("ocean", "Ocean (blue and teal)", "#0b5cad", "#0f9d8a", "humanist", False),
        ThemePreset("emerald", "Emerald (green and slate)", "#0f7a4a", "#334155", "system", False),
        ThemePreset("crimson", "Crimson (red and charcoal)", "#a3172f", "#2d3142", "geometric", True),
    ]
}
PLATFORM_PRESET = ThemePreset("platform", "BrokerOS platform", "#3b3f5c", "#6c63ff", "system", True)

FONT_STACKS: dict[str, tuple[str, str]] = {
    "system": ("System UI", 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif'),
    "humanist": ("Humanist", 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif'),
    "geometric": ("Geometric", 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif'),
    "serif": ("Serif", 'Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif'),
}


def preset_choices() -> list[tuple[str, str]]:
    return [(p.code, p.name) for p in PRESETS.values()]
