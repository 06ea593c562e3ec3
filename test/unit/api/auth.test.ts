import { describe, expect, it } from 'vitest';
import { TokenRegistry, hasScope } from '../../../src/api/auth.js';

describe('TokenRegistry', () => {
  const registry = new TokenRegistry([
    { scope: 'admin', token: 'admin-token-0123456789' },
    { scope: 'read', token: 'read-token-01234567890' },
  ]);

  it('resolves bearer tokens to principals named by a fingerprint, never the token', () => {
    const admin = registry.authenticate('Bearer admin-token-0123456789');
    expect(admin).toMatchObject({ scope: 'admin', id: expect.stringMatching(/^tok_[0-9a-f]{12}$/) });
    expect(admin!.id).not.toContain('admin-token');
    expect(registry.authenticate('bearer read-token-01234567890')?.scope).toBe('read');
  });

  it('refuses missing, unknown and malformed credentials', () => {
    for (const header of [undefined, null, '', 'Bearer', 'Bearer nope', 'Basic abc', 'admin-token-0123456789']) {
      expect(registry.authenticate(header)).toBeUndefined();
    }
  });

  it('nests scopes: admin ⊇ write ⊇ read', () => {
    const p = (scope: 'read' | 'write' | 'admin') => ({ id: 'x', scope });
    expect(hasScope(p('admin'), 'write')).toBe(true);
    expect(hasScope(p('write'), 'read')).toBe(true);
    expect(hasScope(p('write'), 'admin')).toBe(false);
    expect(hasScope(p('read'), 'write')).toBe(false);
  });
});
