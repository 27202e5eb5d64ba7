export interface ParsedDocument {
  title: string;
  sections: Array<{ heading: string; paragraphs: number }>;
  words: number;
}

/** Headings (Markdown `#` or an all-caps line), paragraphs per section, words: the structure of extracted text. */
export function parseStructure(text: string): ParsedDocument {
  const lines = text.split(/\n/);
  const sections: ParsedDocument['sections'] = [];
  let current = { heading: '(preamble)', paragraphs: 0 };
  let inParagraph = false;
  for (const line of lines) {
    const heading = /^#{1,6}\s+(.+)$/.exec(line) ?? /^([A-Z][A-Z0-9 ,'-]{3,})$/.exec(line.trim());
    if (heading) {
      if (current.paragraphs > 0 || current.heading !== '(preamble)') sections.push(current);
      current = { heading: heading[1].trim(), paragraphs: 0 };
      inParagraph = false;
    } else if (line.trim() === '') {
      inParagraph = false;
    } else if (!inParagraph) {
      current.paragraphs += 1;
      inParagraph = true;
    }
  }
  sections.push(current);
  const title = lines.find((l) => l.trim().length > 0)?.replace(/^#+\s*/, '').trim().slice(0, 120) ?? '';
  return { title, sections, words: text.split(/\s+/).filter(Boolean).length };
}
