import { createHash } from 'node:crypto';
import type { Finding, MediaKind } from '../../core/types.js';
import { VERDICTS, type FileVerdict } from '../types.js';
import { thumbnailOf } from './thumbnail.js';
import { SCAN_SCHEMA, type Reporter, type ScanMeta, type ScanSummary, type Sink } from './types.js';

/**
 * A self-contained HTML report: one file, no external request (inline CSS and script, thumbnails
 * as data: URIs), streamed like the other formats — a table row is written as each file finishes,
 * the summary at the end (a small script moves it to the top and makes the filters work; without
 * script the rows and the summary still read top to bottom).
 *
 * Every string that comes from a scanned file (path, metadata values, generator names, error
 * messages) reaches the page only through `escapeHtml` or `jsonForScript`; the Content-Security-Policy
 * allows only this module's own script and style (by hash) and data: images, so even a missed
 * escape could not run script or load anything.
 */

const MEDIA_KINDS: readonly MediaKind[] = ['image', 'audio', 'video', 'text', 'pdf'];
/** `data-kind` of rows without a media kind (files that could not be read). */
const NO_KIND = 'none';
/** Longest string of a finding's value shown in the evidence details; the rest is cut (a prompt can be kilobytes). */
const MAX_VALUE_CHARS = 300;
const MAX_VALUE_ITEMS = 20;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an HTML text node or a quoted attribute; C0 controls (never meant for display) become `\xNN`. */
export function escapeHtml(text: string): string {
  return text
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** JSON that can sit inside `<script type="application/json">`: no `<`, `>`, `&` or line separators that could end or confuse it. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A finding value cut down for display: long strings and lists are shortened, deep nesting elided. */
function abbreviate(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}… (${value.length} chars)` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 5) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_VALUE_ITEMS).map((v) => abbreviate(v, depth + 1));
    return value.length > MAX_VALUE_ITEMS ? [...items, `… (${value.length - MAX_VALUE_ITEMS} more)`] : items;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, MAX_VALUE_ITEMS)) out[k] = abbreviate(v, depth + 1);
  if (entries.length > MAX_VALUE_ITEMS) out['…'] = `${entries.length - MAX_VALUE_ITEMS} more`;
  return out;
}

const STYLE = `
:root{font:14px/1.4 system-ui,sans-serif;color:#1b1f24;background:#fff}
body{margin:1.5rem}
h1{font-size:1.4rem;margin:0 0 .5rem}
h2{font-size:1.1rem;margin:1rem 0 .5rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;position:sticky;top:0}
#files{width:100%}
#files td.thumb{width:100px;text-align:center}
#files td.thumb img{display:block;margin:auto;background:#eee}
#files .path{font-family:ui-monospace,monospace;font-weight:normal;overflow-wrap:anywhere;min-width:14rem;max-width:32rem}
ul.findings{margin:0;padding-left:1.1rem}
code{font-family:ui-monospace,monospace;font-size:.92em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;max-width:40rem;max-height:20rem;overflow:auto;margin:.3rem 0;font-size:.85em}
.verdict{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-weight:600;white-space:nowrap}
.v-labelled{background:#dafbe1;color:#116329}
.v-partially-labelled{background:#fff8c5;color:#7d4e00}
.v-unlabelled{background:#ffebe9;color:#a40e26}
.v-not-synthetic{background:#eaeef2;color:#424a53}
.v-invalid{background:#fbefff;color:#6e40c9}
.v-error{background:#ffd8d3;color:#82071e}
form#filters{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:flex-start;margin:1rem 0}
fieldset{border:1px solid #d0d7de;border-radius:.4rem;padding:.3rem .7rem}
fieldset label{margin-right:.8rem;white-space:nowrap}
.failed{color:#a40e26;font-weight:600}
.passed{color:#116329;font-weight:600}
`;

/** The page's behaviour: move the summary up, count rows per filter value, hide rows that do not match. Static: no data inside. */
const SCRIPT = `
'use strict';
(function () {
  var slot = document.getElementById('summary');
  var final = document.getElementById('summary-final');
  if (slot && final) slot.replaceChildren(final);
  var form = document.getElementById('filters');
  var pathFilter = document.getElementById('path-filter');
  var status = document.getElementById('shown');
  var rows = Array.prototype.slice.call(document.getElementById('files').tBodies[0].rows);
  var counts = {};
  rows.forEach(function (r) {
    ['verdict', 'kind'].forEach(function (d) {
      var k = d + ':' + r.dataset[d];
      counts[k] = (counts[k] || 0) + 1;
    });
  });
  form.querySelectorAll('[data-count]').forEach(function (el) {
    el.textContent = String(counts[el.dataset.count] || 0);
  });
  form.querySelectorAll('fieldset, input').forEach(function (el) {
    el.disabled = false;
  });
  function apply() {
    var on = { verdict: new Set(), kind: new Set() };
    form.querySelectorAll('input[type=checkbox]').forEach(function (c) {
      if (c.checked) on[c.name].add(c.value);
    });
    var text = pathFilter.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var path = r.querySelector('.path').textContent.toLowerCase();
      var visible = on.verdict.has(r.dataset.verdict) && on.kind.has(r.dataset.kind) && (text === '' || path.indexOf(text) >= 0);
      r.hidden = !visible;
      if (visible) shown++;
    });
    status.textContent = shown + ' of ' + rows.length + ' files shown';
  }
  form.addEventListener('input', apply);
  form.addEventListener('change', apply);
  form.addEventListener('submit', function (e) {
    e.preventDefault();
  });
  apply();
})();
`;

const sha256Source = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
/** Nothing loads from anywhere; only this module's own style and script run (an injected handler or tag would be refused). */
const CSP = `default-src 'none'; img-src data:; style-src ${sha256Source(STYLE)}; script-src ${sha256Source(SCRIPT)}; base-uri 'none'; form-action 'none'`;

const COLUMNS = ['thumbnail', 'verdict', 'kind', 'format', 'path', 'evidence of AI generation', 'missing layers', 'labels found', 'errors'];

function checkbox(name: 'verdict' | 'kind', value: string): string {
  return `<label><input type="checkbox" name="${name}" value="${escapeHtml(value)}" checked disabled> ${escapeHtml(value)} (<span data-count="${name}:${escapeHtml(value)}">0</span>)</label>`;
}

function details(label: string, value: unknown): string {
  return `<details><summary>${escapeHtml(label)}</summary><pre>${escapeHtml(JSON.stringify(abbreviate(value), null, 2))}</pre></details>`;
}

function findingsList(findings: readonly Finding[], describe: (f: Finding) => string): string {
  if (!findings.length) return '';
  return `<ul class="findings">${findings.map((f) => `<li>${describe(f)}</li>`).join('')}</ul>`;
}

const where = (f: Finding) => (f.where ? ` <small>${escapeHtml(f.where)}</small>` : '');

function evidenceCell(v: FileVerdict): string {
  if (!v.synthetic && !v.evidence.length) return '';
  const head = v.synthetic ? `<p><strong>${escapeHtml(v.synthetic.grade)}</strong>${v.synthetic.generators.length ? `: ${v.synthetic.generators.map(escapeHtml).join(', ')}` : ''}${v.synthetic.providers?.length ? `; provider ${v.synthetic.providers.map(escapeHtml).join(', ')}` : ''}</p>` : '';
  const list = findingsList(v.evidence, (f) => {
    const gen = (f.value as { generator?: unknown } | undefined)?.generator;
    return `<code>${escapeHtml(f.kind)}</code>${typeof gen === 'string' ? ` (${escapeHtml(gen)})` : ''}${where(f)}`;
  });
  return head + list + (v.evidence.length ? details('evidence details', v.evidence) : '');
}

function labelsCell(v: FileVerdict): string {
  const list = findingsList(v.labels, (f) => {
    const key = (f.value as { key?: unknown } | undefined)?.key;
    return `<code>${escapeHtml(f.kind)}</code>${f.layer === 'watermark' && typeof key === 'string' ? ` key <code>${escapeHtml(key)}</code>` : ''}${where(f)}`;
  });
  return list + (v.labels.length ? details('label details', v.labels) : '');
}

function errorsCell(v: FileVerdict): string {
  const lines = [...(v.error ? [`${v.error.code}: ${v.error.message}`] : []), ...(v.problems ?? [])];
  return lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('');
}

async function rowOf(v: FileVerdict, thumbnails: boolean): Promise<string> {
  // Not SVG: rendering it would follow its references to other local files.
  const thumb = thumbnails && v.kind === 'image' && v.format !== 'svg' ? await thumbnailOf(v.path) : undefined;
  const img = thumb ? `<img src="${thumb.uri}" width="${thumb.width}" height="${thumb.height}" alt="">` : '';
  const kind = v.kind ?? NO_KIND;
  const cells = [
    `<td class="thumb">${img}</td>`,
    `<td><span class="verdict v-${escapeHtml(v.verdict)}">${escapeHtml(v.verdict)}</span></td>`,
    `<td>${v.kind ? escapeHtml(v.kind) : ''}</td>`,
    `<td>${v.format ? escapeHtml(v.format) : ''}</td>`,
    `<th scope="row" class="path">${escapeHtml(v.path)}</th>`,
    `<td>${evidenceCell(v)}</td>`,
    `<td>${v.missing.map(escapeHtml).join(', ')}</td>`,
    `<td>${labelsCell(v)}</td>`,
    `<td>${errorsCell(v)}</td>`,
  ];
  return `<tr data-verdict="${escapeHtml(v.verdict)}" data-kind="${escapeHtml(kind)}">${cells.join('')}</tr>\n`;
}

function summaryBlock(m: ScanMeta, s: ScanSummary): string {
  const result = s.failed
    ? `<span class="failed">failed</span>: found ${s.failOn.filter((v) => s.verdicts[v] > 0).map(escapeHtml).join(', ')} (fail on ${s.failOn.map(escapeHtml).join(', ')})`
    : `<span class="passed">passed</span>${s.failOn.length ? ` (fail on ${s.failOn.map(escapeHtml).join(', ')})` : ''}`;
  const rows = VERDICTS.map((v) => `<tr data-summary-verdict="${v}"><th scope="row"><span class="verdict v-${v}">${v}</span></th><td>${s.verdicts[v]}</td></tr>`).join('');
  return (
    `<section id="summary-final" aria-labelledby="summary-title"><h2 id="summary-title">Summary</h2>\n` +
    `<dl class="meta"><dt>Policy</dt><dd>${escapeHtml(`${m.policy.id}: ${m.policy.title} (${m.policy.law})`)}</dd>` +
    `<dt>Roots</dt><dd>${m.roots.map((r) => `<code>${escapeHtml(r)}</code>`).join(', ')}</dd>` +
    `<dt>Started</dt><dd>${escapeHtml(m.startedAt)}</dd>` +
    `<dt>Time</dt><dd>${s.seconds.toFixed(2)} s, ${s.filesPerSecond.toFixed(0)} files/s, ${(s.bytesPerFile / 1024).toFixed(1)} KiB read per file</dd>` +
    `<dt>Files</dt><dd><span id="summary-files">${s.files}</span>${s.resumed ? ` (${s.resumed} from the resumed report)` : ''}</dd>` +
    `<dt>Result</dt><dd>${result}</dd></dl>\n` +
    `<table class="counts"><caption>Files per verdict</caption><thead><tr><th scope="col">verdict</th><th scope="col">files</th></tr></thead><tbody>${rows}</tbody></table></section>\n`
  );
}

export interface HtmlReportOptions {
  /** Thumbnails of images (a small WebP made from each image file, inlined). Default true. */
  thumbnails?: boolean;
}

/** The HTML report (README "Reports"): streamed rows, summary, filters by verdict, media kind and path, thumbnails. */
export function htmlReporter(out: Sink, opts: HtmlReportOptions = {}): Reporter {
  const thumbnails = opts.thumbnails ?? true;
  let meta: ScanMeta | undefined;
  return {
    async begin(m: ScanMeta) {
      meta = m;
      const head = { schema: SCAN_SCHEMA, tool: { name: 'tamga', version: m.version }, policy: m.policy.id, roots: m.roots, startedAt: m.startedAt };
      await out.write(
        `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n` +
          `<meta http-equiv="Content-Security-Policy" content="${CSP}">\n` +
          `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
          `<title>tamga scan: ${escapeHtml(m.roots.join(', '))}</title>\n<style>${STYLE}</style>\n` +
          `<script type="application/json" id="tamga-scan">${jsonForScript(head)}</script>\n</head><body>\n` +
          `<header><h1>tamga scan report</h1>\n<p>Policy <strong>${escapeHtml(m.policy.id)}</strong> (${escapeHtml(m.policy.title)}), started ${escapeHtml(m.startedAt)}, tamga ${escapeHtml(m.version)}.</p></header>\n` +
          `<div id="summary" aria-live="polite"><p>Scan in progress: the summary is written when the scan ends.</p></div>\n` +
          `<h2 id="files-title">Files</h2>\n<form id="filters" aria-label="Filter the files">\n` +
          `<fieldset disabled><legend>Verdict</legend>${VERDICTS.map((v) => checkbox('verdict', v)).join('')}</fieldset>\n` +
          `<fieldset disabled><legend>Media kind</legend>${[...MEDIA_KINDS, NO_KIND].map((k) => checkbox('kind', k)).join('')}</fieldset>\n` +
          `<p><label for="path-filter">Path contains</label> <input type="search" id="path-filter" disabled></p>\n` +
          `<p id="shown" role="status"></p></form>\n` +
          `<table id="files" aria-labelledby="files-title"><thead><tr>${COLUMNS.map((c) => `<th scope="col">${c}</th>`).join('')}</tr></thead>\n<tbody>\n`,
      );
    },
    async file(v: FileVerdict) {
      await out.write(await rowOf(v, thumbnails));
    },
    async end(s: ScanSummary) {
      if (!meta) throw new Error('htmlReporter: end() before begin()');
      await out.write(
        `</tbody></table>\n${summaryBlock(meta, s)}` +
          `<script type="application/json" id="tamga-summary">${jsonForScript(s)}</script>\n` +
          `<script>${SCRIPT}</script>\n</body></html>\n`,
      );
    },
  };
}
