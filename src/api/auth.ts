/**
 * Bearer-token authentication. Tokens are configured per node with one scope each;
 * scopes nest (admin ⊇ write ⊇ read). Tokens are kept only as SHA-256 digests, and a
 * principal is named by a short fingerprint of its digest, never by the token itself.
 */
import { createHash } from 'node:crypto';
import type { Scope, TokenGrant } from '../config/schema.js';

export interface Principal {
  /** Stable, non-secret name of the token ("tok_" + 12 hex digits of its digest). */
  readonly id: string;
  readonly scope: Scope;
}

const RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export function hasScope(principal: Principal, needed: Scope): boolean {
  return RANK[principal.scope] >= RANK[needed];
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class TokenRegistry {
  private readonly byDigest = new Map<string, Principal>();
  /** Header value → principal for headers already seen; only valid tokens, so it stays small. */
  private readonly byHeader = new Map<string, Principal>();

  constructor(grants: readonly TokenGrant[]) {
    for (const grant of grants) {
      const hash = digest(grant.token);
      this.byDigest.set(hash, { id: `tok_${hash.slice(0, 12)}`, scope: grant.scope });
    }
  }

  /** Resolves an `Authorization` header value; undefined for a missing or unknown token. */
  authenticate(authorization: string | null | undefined): Principal | undefined {
    if (!authorization) return undefined;
    const known = this.byHeader.get(authorization);
    if (known) return known;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return undefined;
    const principal = this.byDigest.get(digest(match[1]!));
    // Spellings of a valid header ("Bearer"/"bearer", spacing) are few; bound them anyway.
    if (principal && this.byHeader.size < 4 * this.byDigest.size + 16) this.byHeader.set(authorization, principal);
    return principal;
  }
}
