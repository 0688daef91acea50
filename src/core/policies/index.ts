import { invalidOption } from '../errors.js';
import type { Policy } from '../types.js';
import type { PolicyDefinition } from './types.js';
import { caPolicy } from './ca.js';
import { cnPolicy } from './cn.js';
import { euPolicy } from './eu.js';
import { kzPolicy } from './kz.js';

export const POLICY_DEFINITIONS: Record<Policy, PolicyDefinition> = { kz: kzPolicy, eu: euPolicy, cn: cnPolicy, ca: caPolicy };

export function policyDefinition(id: string): PolicyDefinition {
  const p = POLICY_DEFINITIONS[id as Policy];
  if (!p) throw invalidOption('policy', `one of ${Object.keys(POLICY_DEFINITIONS).join(', ')}`, id);
  return p;
}
