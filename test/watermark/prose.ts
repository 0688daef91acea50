/**
 * Deterministic prose for watermark tests: real sentences (English, Russian, Kazakh) shuffled by
 * a seeded generator to the length asked. Ordinary running text, the kind an LLM answer is.
 */
const SENTENCES = [
  'The committee met on Tuesday to review the draft budget for the coming year.',
  'Several members asked why the maintenance costs had doubled since the last review, and the treasurer promised a detailed answer by Friday.',
  'Rain is expected in the northern districts tonight, with temperatures falling to a few degrees above freezing.',
  'If you are travelling by train, check the timetable before you leave: some evening services have been cancelled.',
  'The museum will stay open late on the first Thursday of every month, and entry after six o\'clock is free.',
  'Researchers found that the new coating reduced corrosion on the bridge cables by almost forty percent.',
  'Most of the volunteers had never planted a tree before, yet by noon the whole slope was covered with saplings.',
  'Please keep your receipt; without it the shop cannot exchange the item or give you a refund.',
  'In the second half the visitors pressed hard, but the goalkeeper saved two penalties and the match ended in a draw.',
  'A good summary states the question, the method, the main result and its limits in a few plain sentences.',
  'Заседание комиссии перенесли на четверг, потому что отчёт ещё не готов.',
  'Жаңа кітапхана сенбі күні ашылады, кіру тегін болады.',
  'The recipe needs two cups of flour, one egg, a pinch of salt and enough milk to make a smooth batter.',
  'When the power returned, the servers restarted in the wrong order and the database took an hour to recover.',
];

export function prose(length: number, seed = 1): string {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % SENTENCES.length;
  const parts: string[] = [];
  let n = 0;
  let paragraph = 0;
  while (n < length) {
    const t = SENTENCES[next()]!;
    parts.push(t);
    n += t.length + 1;
    if (++paragraph % 5 === 0) parts.push('\n\n');
    else parts.push(' ');
  }
  return parts.join('').slice(0, length);
}

/** A seeded integer generator for picking excerpts. */
export function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
}
