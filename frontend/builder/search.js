// Searching a picker's options as the marketer types: every word must appear (in the label
// or the detail, case- and accent-insensitive); labels that start with the query come first.
function fold(text) {
  return String(text ?? "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

export function searchOptions(options, query, limit = 50) {
  const words = fold(query).split(/\s+/).filter(Boolean);
  const hits = [];
  for (const option of options) {
    const label = fold(option.label);
    const haystack = `${label} ${fold(option.detail)}`;
    if (words.every((w) => haystack.includes(w))) hits.push({ option, starts: words.length > 0 && label.startsWith(words[0]) });
  }
  hits.sort((a, b) => (b.starts - a.starts) || fold(a.option.label).localeCompare(fold(b.option.label)));
  return hits.slice(0, limit).map((h) => h.option);
}
