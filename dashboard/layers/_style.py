"""Colours and shapes shared by the layers, chosen for a dark wall and colour-blind viewers:
status is never told by red-versus-green alone; severity also has its own marker shape."""

BACKGROUND = "#0b1220"
LAND = "#15202e"
BORDER = "#3b5675"
LABEL = "#8aa4c0"

# ColorBrewer RdYlBu: readable with every common colour-vision deficiency.
SPEED_SCALE = [[0.0, "#d7191c"], [0.25, "#fdae61"], [0.5, "#ffffbf"], [0.75, "#abd9e9"], [1.0, "#2c7bb6"]]

# CAP severity, most severe first: colour plus a distinct marker shape.
SEVERITY = {
    "Extreme": ("#b10dc9", "x"),
    "Severe": ("#ff4136", "triangle-up"),
    "Moderate": ("#ff851b", "diamond"),
    "Minor": ("#ffdc00", "circle"),
    "Unknown": ("#aaaaaa", "circle-open"),
}
