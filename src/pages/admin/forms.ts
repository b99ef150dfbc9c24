import type { Admin } from '../../api/admin';

/**
 * The repository kinds, in the order the form offers them.
 */
export const REPOSITORY_KINDS: ReadonlyArray<Admin.RepositoryKind> = [
  'hf-local',
  'hf-remote',
  'hf-virtual',
  'pypi-local',
  'pypi-remote',
  'pypi-virtual'
];

/**
 * What the repository form edits.
 */
export interface IRepositoryDraft {
  key: string;
  kind: Admin.RepositoryKind;
  description: string;
  public: boolean;
  /**
   * Remote kinds: the upstream URL.
   */
  upstream: string;
  /**
   * Remote kinds: a new upstream token (empty: keep the stored one).
   */
  upstreamToken: string;
  /**
   * Virtual kinds: member keys, in resolution order.
   */
  members: string[];
  /**
   * The repository's policy overrides as JSON text (empty: none).
   */
  policies: string;
}

export function isRemote(kind: string): boolean {
  return kind.endsWith('-remote');
}

export function isVirtual(kind: string): boolean {
  return kind.endsWith('-virtual');
}

/**
 * The draft of a new repository, or of an existing one to configure.
 */
export function draftOf(repository?: Admin.IRepository): IRepositoryDraft {
  const config = (repository?.config ?? {}) as Record<string, unknown>;
  const members = Array.isArray(config.members)
    ? config.members.map(String)
    : [];
  const policies = Array.isArray(config.policies)
    ? JSON.stringify(config.policies, null, 2)
    : '';
  return {
    key: repository?.key ?? '',
    kind: repository?.kind ?? 'hf-local',
    description: repository?.description ?? '',
    public: repository?.public ?? false,
    upstream: typeof config.upstream === 'string' ? config.upstream : '',
    upstreamToken: '',
    members,
    policies
  };
}

/**
 * The repositories a virtual repository of `kind` may list as members: the
 * local and remote ones of the same family (`hf-*` or `pypi-*`).
 */
export function memberCandidates(
  kind: string,
  repositories: ReadonlyArray<Admin.IRepository>
): string[] {
  if (!isVirtual(kind)) {
    return [];
  }
  const family = kind.split('-')[0];
  return repositories
    .filter(r => r.kind === `${family}-local` || r.kind === `${family}-remote`)
    .map(r => r.key);
}

/**
 * A JSON list of policy objects from the text an admin typed.
 *
 * @throws Error saying what is wrong (the server validates the policies).
 */
export function parsePolicyList(text: string): Admin.IPolicy[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`Not valid JSON: ${(error as Error).message}`);
  }
  if (
    !Array.isArray(value) ||
    !value.every(p => typeof p === 'object' && p !== null && !Array.isArray(p))
  ) {
    throw new Error('Expected a JSON list of policy objects.');
  }
  return value as Admin.IPolicy[];
}

/**
 * The `config` to send for a draft. Keys the form does not edit are kept
 * from `current` (the stored config, with its secrets masked: the server
 * keeps a masked secret sent back unchanged).
 *
 * @throws Error when the policy overrides are not a JSON list of objects.
 */
export function configOf(
  draft: IRepositoryDraft,
  current: Record<string, unknown> = {}
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...current };
  delete config.upstream;
  delete config.members;
  delete config.policies;
  if (isRemote(draft.kind)) {
    if (draft.upstream.trim()) {
      config.upstream = draft.upstream.trim();
    }
    if (draft.upstreamToken) {
      config.upstream_token = draft.upstreamToken;
    }
  } else {
    delete config.upstream_token;
  }
  if (isVirtual(draft.kind)) {
    config.members = [...draft.members];
  }
  if (draft.policies.trim()) {
    config.policies = parsePolicyList(draft.policies);
  }
  return config;
}

/**
 * Move `key` one place up (`-1`) or down (`+1`) in a member list.
 */
export function moveMember(
  members: ReadonlyArray<string>,
  key: string,
  by: -1 | 1
): string[] {
  const out = [...members];
  const at = out.indexOf(key);
  const to = at + by;
  if (at < 0 || to < 0 || to >= out.length) {
    return out;
  }
  [out[at], out[to]] = [out[to], out[at]];
  return out;
}
