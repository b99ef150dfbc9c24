import { request as playwrightRequest } from '@playwright/test';

/**
 * The bytes of a protocol-2 pickle calling posix.system (never loaded: the scanner flags it).
 */
export const MALICIOUS_PICKLE = Buffer.from(
  '\x80\x02cposix\nsystem\nX\x0c\x00\x00\x00echo pwned!\n\x85R.',
  'latin1'
);

/**
 * The seeded Hub repos of the `models` repository.
 */
export const CLEAN_REPO = 'acme/bert-tiny';
export const EVIL_REPO = 'acme/evil-pickle';

/**
 * The base URL of the UI test server (see playwright.config.js).
 */
export const BASE_URL = `http://127.0.0.1:${process.env.MV_UI_PORT || '8899'}`;

/**
 * Seed the vault through the server's own APIs: the Jupyter user (no token on
 * the UI test server) mints a write token, then creates two Hub repos with the
 * Hub commit API, one holding a malicious pickle (quarantined at commit).
 * Idempotent: an existing repo is left as it is.
 */
export async function seedVault(): Promise<void> {
  const api = await playwrightRequest.newContext({ baseURL: BASE_URL });
  try {
    const minted = await api.post('modelvault/api/tokens', {
      data: {
        name: 'ui-tests-seed',
        scope: 'write',
        repositories: ['models'],
        expires_in_seconds: 3600
      }
    });
    if (!minted.ok()) {
      throw new Error(`mint token: ${minted.status()} ${await minted.text()}`);
    }
    const token = (await minted.json()).token as string;
    const headers = { Authorization: `Bearer ${token}` };
    const repos: Record<string, Record<string, Buffer>> = {
      [CLEAN_REPO]: {
        'README.md': Buffer.from(
          '---\nlicense: apache-2.0\n---\n# bert-tiny\n'
        ),
        'config.json': Buffer.from('{"model_type": "bert", "hidden_size": 8}'),
        'tokenizer/vocab.txt': Buffer.from('[PAD]\n[UNK]\nhello\n')
      },
      [EVIL_REPO]: {
        'README.md': Buffer.from('---\nlicense: mit\n---\n# evil\n'),
        'config.json': Buffer.from('{"model_type": "bert"}'),
        'model.pkl': MALICIOUS_PICKLE
      }
    };
    for (const [repoId, files] of Object.entries(repos)) {
      const [organization, name] = repoId.split('/');
      const created = await api.post('modelvault/hf/models/api/repos/create', {
        headers,
        data: { name, organization, type: 'model' }
      });
      if (created.status() === 409) {
        continue;
      }
      if (!created.ok()) {
        throw new Error(`create ${repoId}: ${created.status()}`);
      }
      const lines = [
        JSON.stringify({ key: 'header', value: { summary: 'seed' } }),
        ...Object.entries(files).map(([path, content]) =>
          JSON.stringify({
            key: 'file',
            value: {
              path,
              content: content.toString('base64'),
              encoding: 'base64'
            }
          })
        )
      ];
      const committed = await api.post(
        `modelvault/hf/models/api/models/${repoId}/commit/main`,
        {
          headers: { ...headers, 'Content-Type': 'application/x-ndjson' },
          data: lines.join('\n') + '\n'
        }
      );
      if (!committed.ok()) {
        throw new Error(
          `commit ${repoId}: ${committed.status()} ${await committed.text()}`
        );
      }
    }
    // A refused download: the Violations section lists it (policy.block).
    const refused = await api.get(
      `modelvault/hf/models/${EVIL_REPO}/resolve/main/model.pkl`,
      { headers }
    );
    if (refused.status() !== 403) {
      throw new Error(`malicious download not refused: ${refused.status()}`);
    }
    // A release bundle pinning the clean repo (the Bundles section lists it).
    const bundle = await api.post('modelvault/api/bundles', {
      data: {
        name: 'bert-release',
        version: '1.0.0',
        components: [{ kind: 'hub', repository: 'models', repo_id: CLEAN_REPO }]
      }
    });
    if (!bundle.ok() && bundle.status() !== 409) {
      throw new Error(`bundle: ${bundle.status()} ${await bundle.text()}`);
    }
    // A UI test may have left a waiver behind (a retry after a failure): revoke it.
    const waivers = await (await api.get('modelvault/api/waivers')).json();
    for (const waiver of waivers.waivers ?? []) {
      await api.delete(`modelvault/api/waivers/${waiver.id}`);
    }
  } finally {
    await api.dispose();
  }
}
