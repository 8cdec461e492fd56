/** Using a profile: the request for one item sequence, the response paths and the id map. */
import * as path from 'node:path';
import { RecMarkError } from '../errors';
import { readIdMap, type IdMap, type ServiceId } from '../data/idMap';
import { parseJsonPath, type PathStep } from './jsonPath';
import type { EndpointProfile } from './profile';
import { isObject } from './profileChecks';

export interface PreparedRequest {
  url: string;
  method: string;
  /** JSON text, or undefined for GET. */
  body?: string;
}

function fill(text: string, items: readonly ServiceId[], k: number, encode: boolean): string {
  const enc = (s: string): string => (encode ? encodeURIComponent(s) : s);
  return text
    .replaceAll('${items}', items.map((i) => enc(String(i))).join(','))
    .replaceAll('${k}', String(k));
}

function fillBody(value: unknown, items: readonly ServiceId[], k: number): unknown {
  if (value === '${items}') return [...items];
  if (value === '${k}') return k;
  if (typeof value === 'string') return fill(value, items, k, false);
  if (Array.isArray(value)) return value.map((x) => fillBody(x, items, k));
  if (isObject(value))
    return Object.fromEntries(
      Object.entries(value).map(([key, x]) => [key, fillBody(x, items, k)]),
    );
  return value;
}

/** The request for one item sequence (service ids) and list length k. Holds no secret. */
export function prepareRequest(
  profile: EndpointProfile,
  items: readonly ServiceId[],
  k: number,
): PreparedRequest {
  return {
    url: fill(profile.url, items, k, true),
    method: profile.method,
    body:
      profile.method === 'GET' ? undefined : JSON.stringify(fillBody(profile.request, items, k)),
  };
}

/** Whether the service can be told how many items to return. */
export function asksForK(profile: EndpointProfile): boolean {
  return profile.url.includes('${k}') || JSON.stringify(profile.request ?? null).includes('${k}');
}

export interface ResponsePaths {
  items?: PathStep[];
  scores?: PathStep[];
}

export function responsePaths(profile: EndpointProfile): ResponsePaths {
  const parse = (p: string | undefined): PathStep[] | undefined => {
    if (p === undefined) return undefined;
    const steps = parseJsonPath(p);
    if (typeof steps === 'string') throw new RecMarkError(steps, 'endpoint-profile');
    return steps;
  };
  return { items: parse(profile.response.items), scores: parse(profile.response.scores) };
}

export async function loadIdMap(profile: EndpointProfile): Promise<IdMap | null> {
  if (!profile.idMap) return null;
  return readIdMap({
    file: profile.idMap.file,
    columns: { model: profile.idMap.modelColumn, service: profile.idMap.serviceColumn },
    label: path.basename(profile.file || 'endpoint profile'),
    code: 'endpoint-profile',
    fix: 'fix "idMap.file" (a path relative to the profile)',
    confineTo: profile.file ? path.dirname(profile.file) : undefined,
  });
}
