/**
 * A synthetic archive for benchmarks that walk a tree (optout, and the verifier's scan): N real
 * image files in 5 formats spread over subdirectories, some unlabelled, some labelled by tamga, some
 * labelled with a training reservation. Files are copies of a few templates, so generating 10,000
 * takes about a second and every file is a valid, decodable image.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { label } from '../src/index.js';

export interface TreeTemplate {
  /** File name suffix, e.g. `labelled.png`. */
  name: string;
  bytes: Uint8Array;
}

const DEMO = resolve(import.meta.dirname, '..', 'fixtures', 'demo');
const FORMATS = ['jpg', 'png', 'webp', 'gif', 'tif'] as const;

/** The demo images in each format: as shipped, labelled, and labelled with `reserveTraining`. */
export async function defaultTemplates(): Promise<TreeTemplate[]> {
  const out: TreeTemplate[] = [];
  for (const ext of FORMATS) {
    const plain = readFileSync(join(DEMO, `sample.${ext}`));
    out.push({ name: `plain.${ext}`, bytes: plain });
    out.push({ name: `labelled.${ext}`, bytes: (await label(plain, { generator: 'bench' }, { visible: false })).data! });
    out.push({ name: `reserved.${ext}`, bytes: (await label(plain, { generator: 'bench' }, { visible: false, reserveTraining: true })).data! });
  }
  return out;
}

export interface BenchTree {
  root: string;
  files: string[];
  bytes: number;
}

/** Writes `count` files under `root` (`d000/f00000-<template>`, `perDir` per directory), cycling through the templates. */
export function writeBenchTree(root: string, count: number, templates: readonly TreeTemplate[], perDir = 100): BenchTree {
  const files: string[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const dir = join(root, `d${String(Math.floor(i / perDir)).padStart(3, '0')}`);
    if (i % perDir === 0) mkdirSync(dir, { recursive: true });
    const t = templates[i % templates.length]!;
    const file = join(dir, `f${String(i).padStart(5, '0')}-${t.name}`);
    writeFileSync(file, t.bytes);
    files.push(file);
    bytes += t.bytes.length;
  }
  return { root, files, bytes };
}
