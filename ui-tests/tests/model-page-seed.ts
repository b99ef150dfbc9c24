import { request as playwrightRequest } from '@playwright/test';

import { BASE_URL } from './seed';

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
  const api = await playwrightRequest.newContext({ baseURL: BASE_URL });
  try {
    const made = await api.post('modelvault/api/repositories', {
      data: { key: PAGE_REPOSITORY, kind: 'hf-local' }
    });
    if (!made.ok() && made.status() !== 409) {
      throw new Error(
        `create repository: ${made.status()} ${await made.text()}`
      );
    }
    const token = await mint(api, { name: 'model-page-seed', scope: 'write' });
    const headers = { Authorization: `Bearer ${token}` };
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
      await createRepo(api, headers, repoId, files);
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
      const kernelToken = await mint(api, {
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
  } finally {
    await api.dispose();
  }
}

async function mint(
  api: Awaited<ReturnType<typeof playwrightRequest.newContext>>,
  fields: Record<string, string>
): Promise<string> {
  const minted = await api.post('modelvault/api/tokens', {
    data: {
      repositories: [PAGE_REPOSITORY],
      expires_in_seconds: 3600,
      ...fields
    }
  });
  if (!minted.ok()) {
    throw new Error(`mint token: ${minted.status()} ${await minted.text()}`);
  }
  return (await minted.json()).token as string;
}

async function createRepo(
  api: Awaited<ReturnType<typeof playwrightRequest.newContext>>,
  headers: Record<string, string>,
  repoId: string,
  files: Record<string, Buffer>
): Promise<void> {
  const [organization, name] = repoId.split('/');
  const created = await api.post(
    `modelvault/hf/${PAGE_REPOSITORY}/api/repos/create`,
    {
      headers,
      data: { name, organization, type: 'model' }
    }
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
    `modelvault/hf/${PAGE_REPOSITORY}/api/models/${repoId}/commit/main`,
    {
      headers: { ...headers, 'Content-Type': 'application/x-ndjson' },
      data: lines.join('\n') + '\n',
      timeout: 600_000
    }
  );
  if (!committed.ok()) {
    throw new Error(
      `commit ${repoId}: ${committed.status()} ${await committed.text()}`
    );
  }
}
