import { describe, expect, it } from 'vitest';
import { HTML_HEAD_LIMIT, looksLikeHtml, readHtmlMeta } from '../../src/optout/html.js';

const names = (html: string) => readHtmlMeta(html).map((m) => [m.name, m.content]);

describe('readHtmlMeta', () => {
  it('reads name/content in any attribute order, quoting and case, with entities decoded', () => {
    const html = `<!DOCTYPE html><HTML><head>
      <META CONTENT="1" NAME="TDM-Reservation">
      <meta content='https://ex.kz/p?a=1&amp;b=2' name=tdm-policy />
      <meta name=robots content=noai>
      <meta http-equiv="X-Robots-Tag" content="noimageai">
      <meta charset="utf-8">
    </head><body></body></html>`;
    expect(names(html)).toEqual([
      ['tdm-reservation', '1'],
      ['tdm-policy', 'https://ex.kz/p?a=1&b=2'],
      ['robots', 'noai'],
      ['x-robots-tag', 'noimageai'],
    ]);
  });

  it('skips comments, scripts, titles and everything after <body>', () => {
    const html = `<head><!-- <meta name="robots" content="noai"> -->
      <script>document.write('<meta name="robots" content="noai">')</script>
      <title><meta name="robots" content="noai"></title>
      <meta name="robots" content="noimageai">
      </head><body><meta name="tdm-reservation" content="1"></body>`;
    expect(names(html)).toEqual([['robots', 'noimageai']]);
  });

  it('records the offset of each tag', () => {
    const html = '<head><meta name="robots" content="noai"></head>';
    expect(readHtmlMeta(html)[0]!.offset).toBe(html.indexOf('<meta'));
  });

  it('survives broken markup and stops at the head limit', () => {
    // A tag cut off by the end of the input is no element (as in a browser: EOF in a tag drops it).
    expect(names('<head><meta name="robots" content="noai')).toEqual([]);
    expect(names('<head><meta name="robots" content="noai"')).toEqual([]);
    expect(names('<head><meta name="robots" content="noai"><p>')).toEqual([['robots', 'noai']]);
    expect(names('<<<>>><meta =x name= content=>')).toEqual([]);
    expect(names('<head><script>never closed <meta name=robots content=noai>')).toEqual([]);
    const late = ' '.repeat(HTML_HEAD_LIMIT) + '<meta name="robots" content="noai">';
    expect(names(late)).toEqual([]);
  });

  it('reads past thousands of raw-text elements in one pass (the test timeout catches a quadratic scan)', () => {
    const html = '<head>' + '<script></script>'.repeat(15_000) + '<meta name="robots" content="noai"></head>';
    expect(html.length).toBeLessThan(HTML_HEAD_LIMIT);
    expect(names(html)).toEqual([['robots', 'noai']]);
  });
});

describe('looksLikeHtml', () => {
  it('knows HTML by a doctype or an html/head element, after a BOM or comments', () => {
    expect(looksLikeHtml('\uFEFF<!doctype html><p>')).toBe(true);
    expect(looksLikeHtml('<!-- x --><html lang="kk">')).toBe(true);
    expect(looksLikeHtml('<head><meta>')).toBe(true);
    expect(looksLikeHtml('plain text with <html> later')).toBe(false);
    expect(looksLikeHtml('<svg xmlns="http://www.w3.org/2000/svg"/>')).toBe(false);
  });
});
