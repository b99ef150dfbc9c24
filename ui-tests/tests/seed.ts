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
  await withApi(async api => {
    const token = await mintToken(api, {
      name: 'ui-tests-seed',
      scope: 'write',
      repositories: ['models']
    });
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
      await createHubRepo(api, token, 'models', repoId, files);
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
  });
}

// The model page (model-page.spec.ts): its own repository, a base-model chain,
// a bundle, two notebooks that fetched the leaf, and (benchmark only) 10,000 files.

/**
 * The three-level base-model chain: LEAF was fine-tuned from MID, MID from ROOT.
 */
export const ROOT_REPO = 'acme/chain-root';
export const MID_REPO = 'acme/chain-mid';
export const LEAF_REPO = 'acme/chain-leaf';
/**
 * A repo of 10,000 files (the files table's scale test).
 */
export const MANY_REPO = 'acme/many-files';
/**
 * The model page's repos live in a repository of their own, so other specs that count the
 * repos of `models` see only theirs.
 */
export const PAGE_REPOSITORY = 'pages';
export const MANY_FILES = 10_000;
/**
 * The 10,000-file measurement is a benchmark, not a test: it runs (and its repo is seeded) only
 * with MV_UI_BENCH=1 (bench/README.md), so the CI suite stays within its time budget.
 */
export const UI_BENCH = !!process.env.MV_UI_BENCH;
export const BUNDLE = { name: 'chain-release', version: '1.0.0' };
/**
 * The two notebooks that fetch LEAF, with the users and kernels behind them.
 */
export const NOTEBOOKS = [
  {
    user: 'alice',
    notebook: 'research/finetune.ipynb',
    kernel: 'aaaa1111-0000-4000-8000-000000000001'
  },
  {
    user: 'bob',
    notebook: 'eval/benchmark.ipynb',
    kernel: 'bbbb2222-0000-4000-8000-000000000002'
  }
];

function card(base: string | null, licence: string, title: string): Buffer {
  const lines = ['---', `license: ${licence}`];
  if (base) {
    lines.push(`base_model: ${base}`);
  }
  lines.push('tags: [text-classification, demo]', '---');
  lines.push(
    `# ${title}`,
    '',
    `A small **demo** model${base ? `, fine-tuned from \`${base}\`` : ''}.`,
    '',
    '## Intended use',
    '',
    '- classify short support tickets',
    '- not for medical or legal advice',
    '',
    '| metric | value |',
    '| --- | --- |',
    '| accuracy | 0.91 |',
    ''
  );
  return Buffer.from(lines.join('\n'));
}

/**
 * Seed the model page's data through the server's own APIs (idempotent):
 * the chain's repos through the Hub commit API, a bundle pinning LEAF, two
 * kernel tokens (their description names notebook and kernel, as kernel_env
 * writes it) that download a file of LEAF, and a 10,000-file repo.
 */
export async function seedModelPage(): Promise<void> {
  await withApi(async api => {
    const made = await api.post('modelvault/api/repositories', {
      data: { key: PAGE_REPOSITORY, kind: 'hf-local' }
    });
    if (!made.ok() && made.status() !== 409) {
      throw new Error(
        `create repository: ${made.status()} ${await made.text()}`
      );
    }
    const token = await mintToken(api, {
      name: 'model-page-seed',
      scope: 'write',
      repositories: [PAGE_REPOSITORY]
    });
    const repos: [string, Record<string, Buffer>][] = [
      [
        ROOT_REPO,
        {
          'README.md': card(null, 'apache-2.0', 'chain-root'),
          'config.json': Buffer.from('{"model_type": "bert"}')
        }
      ],
      [
        MID_REPO,
        {
          'README.md': card(ROOT_REPO, 'apache-2.0', 'chain-mid'),
          'config.json': Buffer.from('{"model_type": "bert"}')
        }
      ],
      [
        LEAF_REPO,
        {
          'README.md': card(MID_REPO, 'apache-2.0', 'chain-leaf'),
          'config.json': Buffer.from('{"model_type": "bert", "num_labels": 4}'),
          'tokenizer/vocab.txt': Buffer.from('[PAD]\n[UNK]\nticket\n')
        }
      ]
    ];
    if (UI_BENCH) {
      const many: Record<string, Buffer> = {
        'README.md': card(null, 'mit', 'many-files')
      };
      for (let i = 0; i < MANY_FILES - 1; i++) {
        many[
          `shards/${String(Math.floor(i / 100)).padStart(3, '0')}/part-${String(i).padStart(5, '0')}.txt`
        ] = Buffer.from(`${i}`);
      }
      repos.push([MANY_REPO, many]);
    }
    for (const [repoId, files] of repos) {
      await createHubRepo(api, token, PAGE_REPOSITORY, repoId, files);
    }
    const bundle = await api.post('modelvault/api/bundles', {
      data: {
        ...BUNDLE,
        components: [
          { kind: 'hub', repository: PAGE_REPOSITORY, repo_id: LEAF_REPO }
        ]
      }
    });
    if (!bundle.ok() && bundle.status() !== 409) {
      throw new Error(`bundle: ${bundle.status()} ${await bundle.text()}`);
    }
    const lineage = await api.get('modelvault/api/lineage', {
      params: { subject: `${PAGE_REPOSITORY}/${LEAF_REPO}` }
    });
    const known = ((await lineage.json()).affected ?? []).map(
      (a: { notebook: string | null }) => a.notebook
    );
    for (const nb of NOTEBOOKS) {
      if (known.includes(nb.notebook)) {
        continue;
      }
      const kernelToken = await mintToken(api, {
        repositories: [PAGE_REPOSITORY],
        name: `kernel-${nb.kernel.slice(0, 8)}`,
        scope: 'read',
        user: nb.user,
        description: JSON.stringify({
          kernel_id: nb.kernel,
          notebook: nb.notebook,
          kernel_name: 'python3'
        })
      });
      const fetched = await api.get(
        `modelvault/hf/${PAGE_REPOSITORY}/${LEAF_REPO}/resolve/main/config.json`,
        { headers: { Authorization: `Bearer ${kernelToken}` } }
      );
      if (!fetched.ok()) {
        throw new Error(`fetch as ${nb.user}: ${fetched.status()}`);
      }
    }
  });
}

/**
 * A request context on the UI test server.
 */
type Api = Awaited<ReturnType<typeof playwrightRequest.newContext>>;

/**
 * Mint a token (the Jupyter user needs none on the UI test server).
 */
async function mintToken(
  api: Api,
  fields: Record<string, unknown>
): Promise<string> {
  const minted = await api.post('modelvault/api/tokens', {
    data: { expires_in_seconds: 3600, ...fields }
  });
  if (!minted.ok()) {
    throw new Error(`mint token: ${minted.status()} ${await minted.text()}`);
  }
  return (await minted.json()).token as string;
}

/**
 * Create the Hub repo `repoId` in `repository` with `files` in one commit
 * (the Hub commit API). An existing repo is left as it is (idempotent seeds).
 */
async function createHubRepo(
  api: Api,
  token: string,
  repository: string,
  repoId: string,
  files: Record<string, Buffer>
): Promise<void> {
  const headers = { Authorization: `Bearer ${token}` };
  const [organization, name] = repoId.split('/');
  const created = await api.post(
    `modelvault/hf/${repository}/api/repos/create`,
    { headers, data: { name, organization, type: 'model' } }
  );
  if (created.status() === 409) {
    return;
  }
  if (!created.ok()) {
    throw new Error(`create ${repoId}: ${created.status()}`);
  }
  const lines = [
    JSON.stringify({ key: 'header', value: { summary: 'seed' } }),
    ...Object.entries(files).map(([path, content]) =>
      JSON.stringify({
        key: 'file',
        value: { path, content: content.toString('base64'), encoding: 'base64' }
      })
    )
  ];
  const committed = await api.post(
    `modelvault/hf/${repository}/api/models/${repoId}/commit/main`,
    {
      headers: { ...headers, 'Content-Type': 'application/x-ndjson' },
      data: lines.join('\n') + '\n',
      timeout: 600_000 // 10,000 files on a loaded machine
    }
  );
  if (!committed.ok()) {
    throw new Error(
      `commit ${repoId}: ${committed.status()} ${await committed.text()}`
    );
  }
}

/**
 * Run `seed` with a request context on the UI test server.
 */
async function withApi(seed: (api: Api) => Promise<void>): Promise<void> {
  const api = await playwrightRequest.newContext({ baseURL: BASE_URL });
  try {
    await seed(api);
  } finally {
    await api.dispose();
  }
}
