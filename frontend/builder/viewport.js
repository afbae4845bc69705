// Where the canvas moves when a step takes the focus: only as far as needed. A step already
// on screen keeps the view still, so the arms beside it (the other "+ Add step" of a branch)
// stay where the marketer just saw them; a step off screen is brought in by the shortest
// pan (centred only when it is larger than the pane).
export function panToShow({ x, y, width, height }, viewport, pane, margin = 24) {
  const { zoom } = viewport;
  const axis = (start, size, offset, room) => {
    const from = start * zoom + offset;
    const to = from + size * zoom;
    if (size * zoom > room - 2 * margin) return offset + (room / 2 - (from + to) / 2);
    if (from < margin) return offset + (margin - from);
    if (to > room - margin) return offset - (to - (room - margin));
    return offset;
  };
  const nx = axis(x, width, viewport.x, pane.width);
  const ny = axis(y, height, viewport.y, pane.height);
  return nx === viewport.x && ny === viewport.y ? null : { x: nx, y: ny, zoom };
}
