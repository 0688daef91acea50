// subset-font ships no types; the one call scripts/subset-fonts.ts makes.
declare module 'subset-font' {
  export default function subsetFont(font: Uint8Array, text: string, opts?: { targetFormat?: 'sfnt' | 'woff' | 'woff2'; preserveNameIds?: number[] }): Promise<Buffer>;
}
