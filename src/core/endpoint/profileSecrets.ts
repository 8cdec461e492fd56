/**
 * Secrets in endpoint profiles: headers reference them as `${secret:NAME}`; VS Code fills them
 * from SecretStorage, the CLI from RECMARK_SECRET_<NAME>. Only header values ever carry them.
 */
import { RecMarkError } from '../errors';
import type { EndpointProfile } from './profile';

const SECRET_RE = /\$\{secret:([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The environment variable the CLI reads secret NAME from: RECMARK_SECRET_<NAME uppercased>. */
export function secretEnvName(name: string): string {
  return `RECMARK_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Why a header value cannot be sent (without quoting it: it may hold a secret), or null. A line
 * break or another control character (tab aside) would end the header line early and inject
 * headers; HTTP/1.1 header values are bytes, so fetch refuses characters beyond Latin-1.
 */
export function headerValueProblem(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f)
      return 'holds a line break or another control character';
    if (c > 0xff) return 'holds a character outside Latin-1';
  }
  return null;
}

/** The secret names a profile's headers reference, in order of first use. */
export function secretNames(profile: EndpointProfile): string[] {
  const names = new Set<string>();
  for (const text of Object.values(profile.headers))
    for (const m of text.matchAll(SECRET_RE)) names.add(m[1]);
  return [...names];
}

export type SecretResolver = (name: string) => string | undefined;

/** The CLI's resolver: RECMARK_SECRET_<NAME>. */
export const envSecrets: SecretResolver = (name) => process.env[secretEnvName(name)];

/** Headers with secrets filled in; a missing secret is an error naming where to set it. */
export function resolveHeaders(
  profile: EndpointProfile,
  secrets: SecretResolver,
): Record<string, string> {
  return resolveSecrets(profile, secrets).headers;
}

export interface ResolvedHeaders {
  headers: Record<string, string>;
  /** Names of the headers that carry a secret: sent to the profile's origin only. */
  secretHeaders: string[];
  /** The secret values, to scrub from any message built from what a service sent. */
  secretValues: string[];
}

/**
 * Headers with secrets filled in, and which ones carry them. A missing secret, or one that cannot
 * be a header value (a line break would inject headers), is an error naming the secret and where
 * to set it, never its value.
 */
export function resolveSecrets(profile: EndpointProfile, secrets: SecretResolver): ResolvedHeaders {
  const headers: Record<string, string> = {};
  const secretHeaders: string[] = [];
  const secretValues = new Set<string>();
  for (const [name, text] of Object.entries(profile.headers)) {
    headers[name] = text.replace(SECRET_RE, (_m, secret: string) => {
      const value = secrets(secret);
      if (value === undefined || value === '')
        throw new RecMarkError(
          `The endpoint profile needs the secret "${secret}" (header ${name}); set the environment variable ${secretEnvName(secret)} (in VS Code you are asked for it).`,
          'endpoint-secret-missing',
        );
      const problem = headerValueProblem(value);
      if (problem)
        throw new RecMarkError(
          `The secret "${secret}" (header ${name}) ${problem}, so it cannot be sent as a header; set ${secretEnvName(secret)} to the bare token (in VS Code, enter it again).`,
          'endpoint-secret-invalid',
        );
      secretValues.add(value);
      return value;
    });
    if (text.includes('${secret:')) secretHeaders.push(name);
  }
  return { headers, secretHeaders, secretValues: [...secretValues] };
}
