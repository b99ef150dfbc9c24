import type { Admin } from '../api/admin';
import {
  configOf,
  draftOf,
  memberCandidates,
  moveMember,
  parsePolicyList
} from '../pages/admin/forms';
import { isAdmin } from '../pages/admin/plugin';
import { editableText } from '../pages/admin/PoliciesAdmin';
import { tokenState } from '../pages/admin/TokensAdmin';

function repo(
  key: string,
  kind: Admin.RepositoryKind,
  config: Record<string, unknown> = {}
): Admin.IRepository {
  return {
    key,
    kind,
    description: '',
    public: false,
    config,
    created_at: 0
  };
}

describe('repository form', () => {
  it('keeps settings it does not edit and the masked token, and sets upstream and overrides', () => {
    const stored = repo('mirror', 'hf-remote', {
      upstream: 'https://old.example',
      upstream_token: '***',
      offline: true
    });
    const draft = {
      ...draftOf(stored),
      upstream: ' https://hub.example ',
      policies: '[{"name": "approved-licenses", "action": "warn"}]'
    };
    expect(configOf(draft, stored.config)).toEqual({
      upstream: 'https://hub.example',
      upstream_token: '***',
      offline: true,
      policies: [{ name: 'approved-licenses', action: 'warn' }]
    });
  });

  it('replaces the token only when a new one is typed, and drops overrides left empty', () => {
    const stored = repo('mirror', 'hf-remote', {
      upstream: 'https://hub.example',
      upstream_token: '***',
      policies: [{ name: 'custom-code', action: 'block' }]
    });
    const draft = { ...draftOf(stored), upstreamToken: 'hf_new', policies: '' };
    expect(configOf(draft, stored.config)).toEqual({
      upstream: 'https://hub.example',
      upstream_token: 'hf_new'
    });
  });

  it('offers members of the same family and keeps their order', () => {
    const repos = [
      repo('a', 'hf-local'),
      repo('b', 'hf-remote'),
      repo('p', 'pypi-local'),
      repo('v', 'hf-virtual', { members: ['b', 'a'] })
    ];
    expect(memberCandidates('hf-virtual', repos)).toEqual(['a', 'b']);
    expect(memberCandidates('pypi-virtual', repos)).toEqual(['p']);
    expect(memberCandidates('hf-local', repos)).toEqual([]);
    const draft = draftOf(repos[3]);
    expect(draft.members).toEqual(['b', 'a']);
    expect(
      configOf({ ...draft, members: moveMember(draft.members, 'a', -1) })
    ).toEqual({
      members: ['a', 'b']
    });
    expect(moveMember(['a', 'b'], 'a', -1)).toEqual(['a', 'b']);
  });

  it('refuses overrides that are not a JSON list of objects', () => {
    const draft = { ...draftOf(), policies: '{"name": "x"}' };
    expect(() => configOf(draft)).toThrow('list of policy objects');
    expect(() => parsePolicyList('[{"name": ')).toThrow('Not valid JSON');
  });
});

describe('policy editor', () => {
  it('edits the policies without their summaries and keeps switched-off defaults', () => {
    const text = editableText([
      {
        name: 'custom-code',
        kind: 'custom-code',
        action: 'warn',
        summary: 's'
      },
      {
        name: 'approved-licenses',
        kind: 'license',
        enabled: false,
        summary: 'switched off'
      }
    ]);
    expect(parsePolicyList(text)).toEqual([
      { name: 'custom-code', kind: 'custom-code', action: 'warn' },
      { name: 'approved-licenses', kind: 'license', enabled: false }
    ]);
  });
});

describe('admin access', () => {
  it('follows the handshake', () => {
    const info = (admin: boolean) => ({
      name: 'ModelVault',
      version: '1',
      user: { name: 'u', admin, scope: 'admin' as const }
    });
    expect(isAdmin({ state: 'ready', info: info(true) } as any)).toBe(true);
    expect(isAdmin({ state: 'ready', info: info(false) } as any)).toBe(false);
    expect(isAdmin({ state: 'unknown' })).toBe(false);
  });

  it('tells revoked, expired and active tokens apart', () => {
    const token = {
      id: 't',
      name: 'n',
      user: 'u',
      scope: 'read' as const,
      repositories: [],
      created_at: 0,
      expires_at: 100 as number | null,
      revoked_at: null as number | null,
      parent: null
    };
    expect(tokenState(token, 50)).toBe('active');
    expect(tokenState(token, 150)).toBe('expired');
    expect(tokenState({ ...token, revoked_at: 10 }, 50)).toBe('revoked');
    expect(tokenState({ ...token, expires_at: null }, 1e12)).toBe('active');
  });
});
