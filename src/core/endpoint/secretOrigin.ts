/**
 * Endpoint secrets bound to the origin they were given for (issue 15). A profile is a file in a
 * repository, and a cloned repository may ship one that points at its own host and names the
 * user's `${secret:apiToken}`; so a stored secret remembers the origin (scheme, host, port) it
 * was first given for and is released to that origin only. Another origin gets it only after
 * the user says so, each time. Pure decisions here; the VS Code command asks.
 */
import { RecMarkError } from '../errors';

export interface StoredSecret {
  origin: string;
  value: string;
}

export type SecretRelease =
  /** Nothing usable stored (none, or an old value not bound to an origin): ask for it. */
  | { kind: 'ask' }
  /** Stored for this origin: send it. */
  | { kind: 'release'; value: string }
  /** Stored for another origin: send it only if the user confirms. */
  | { kind: 'confirm'; value: string; givenFor: string };

/** The origin every request of a profile goes to; refused if the URL's placeholders move it. */
export function profileOrigin(url: string): string {
  const origins = ['0', '1'].map((fill) => {
    try {
      return new URL(url.replace(/\$\{[^}]*\}/g, fill)).origin;
    } catch {
      return 'null';
    }
  });
  if (origins[0] === 'null' || origins[0] !== origins[1])
    throw new RecMarkError(
      `The endpoint URL ${url} has no fixed origin (scheme, host, port), so no secret can be bound to it; keep \${items} and \${k} out of the host.`,
      'endpoint-profile',
    );
  return origins[0];
}

/** The SecretStorage value of a stored secret. */
export function encodeStoredSecret(secret: StoredSecret): string {
  return JSON.stringify({ origin: secret.origin, value: secret.value });
}

/** A stored value, or undefined when there is none or it is an old plain (unbound) value. */
export function decodeStoredSecret(raw: string | undefined): StoredSecret | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<StoredSecret>;
    if (typeof v.origin === 'string' && typeof v.value === 'string' && v.value !== '')
      return { origin: v.origin, value: v.value };
  } catch {
    // An older RecMark stored the plain value: it is asked for again, then bound.
  }
  return undefined;
}

export function decideSecretRelease(
  stored: StoredSecret | undefined,
  origin: string,
): SecretRelease {
  if (!stored) return { kind: 'ask' };
  if (stored.origin === origin) return { kind: 'release', value: stored.value };
  return { kind: 'confirm', value: stored.value, givenFor: stored.origin };
}
