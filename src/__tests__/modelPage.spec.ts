import { VaultClient } from '../api/client';
import {
  licenseOfMetadata,
  ModelPageModel
} from '../pages/model/ModelPageModel';
import {
  cardBody,
  downloadSnippet,
  evidenceLines,
  fileRows,
  graphSentences,
  IHubOverview,
  lineageGraph,
  mermaidDefinition,
  mermaidText,
  revisionGroups
} from '../pages/model/shaping';
import { ModelVault } from '../tokens';
import { fakeSettings, IFakeRequest, json, routes } from './fakeServer';

const SHA = 'a'.repeat(64);
const COMMIT = 'c'.repeat(40);

function file(
  path: string,
  extra: Partial<ModelVault.IRepoFile> = {}
): ModelVault.IRepoFile {
  return {
    path,
    size: 2048,
    sha256: SHA,
    lfs: false,
    verdict: 'clean',
    status: 'clean',
    violations: [],
    waived: [],
    ...extra
  };
}

const OVERVIEW: Pick<IHubOverview, 'repo_id' | 'base_chain' | 'bundles'> = {
  repo_id: 'acme/leaf',
  base_chain: [
    { repo_id: 'acme/mid', in_vault: true, license: 'mit' },
    { repo_id: 'acme/root', in_vault: true, license: 'mit' },
    { repo_id: 'upstream/base', in_vault: false, license: null }
  ],
  bundles: [
    { name: 'rel', version: '1.0.0', environment: 'QA', commit: COMMIT }
  ]
};

const AFFECTED = [
  {
    user: 'alice',
    notebook: 'a.ipynb',
    kernel_id: 'k1234567890',
    fetches: 2,
    last_ts: 1
  },
  {
    user: 'alice',
    notebook: 'b.ipynb',
    kernel_id: 'k2',
    fetches: 1,
    last_ts: 1
  },
  { user: 'bob', notebook: null, kernel_id: null, fetches: 3, last_ts: 1 }
];

describe('files table rows', () => {
  it('shows size, verdict, violations and whether a waiver can lift a block', () => {
    const rows = fileRows([
      file('README.md'),
      file('model.pkl', {
        verdict: 'malicious',
        status: 'blocked',
        violations: [
          {
            policy: 'malicious-models',
            action: 'block',
            reason: 'pickle calls posix.system',
            evidence: {}
          }
        ]
      }),
      file('big.bin', {
        verdict: null,
        status: 'not-scanned',
        size: 5 * 1024 * 1024
      }),
      file('w.pkl', {
        status: 'waived',
        waived: [
          {
            policy: 'malicious-models',
            action: 'block',
            reason: 'r',
            evidence: {}
          }
        ]
      })
    ]);
    expect(rows.map(r => r.file.path)).toEqual([
      'README.md',
      'model.pkl',
      'big.bin',
      'w.pkl'
    ]);
    expect(rows[0]).toMatchObject({
      size: '2.0 KiB',
      verdict: 'clean',
      violations: '',
      waivable: false
    });
    expect(rows[1].violations).toBe(
      'block by malicious-models: pickle calls posix.system'
    );
    expect(rows[1].waivable).toBe(true);
    expect(rows[2]).toMatchObject({ verdict: 'not scanned', size: '5.0 MiB' });
    expect(rows[3]).toMatchObject({
      violations: 'waived malicious-models: r',
      waivable: false
    });
  });

  it('shapes 10,000 files quickly', () => {
    const files = Array.from({ length: 10_000 }, (_, i) =>
      file(`shards/${i}.txt`)
    );
    const start = performance.now();
    const rows = fileRows(files);
    expect(rows).toHaveLength(10_000);
    expect(rows[9_999].file.path).toBe('shards/9999.txt');
    // Informational: printed, not asserted (shared CI machines vary).
    console.info(
      `fileRows(10000): ${(performance.now() - start).toFixed(1)} ms`
    );
  });

  it('lists evidence as key: value lines', () => {
    expect(evidenceLines({ license: 'gpl-3.0', allowed: ['mit'] })).toEqual([
      'license: gpl-3.0',
      'allowed: ["mit"]'
    ]);
  });
});

describe('lineage graph', () => {
  it('links the chain, the bundles and who fetched it', () => {
    const graph = lineageGraph(OVERVIEW, { affected: AFFECTED });
    expect(graphSentences(graph)).toEqual([
      'acme/leaf fine-tuned from acme/mid',
      'acme/mid fine-tuned from acme/root',
      'acme/root fine-tuned from upstream/base (not in the vault)',
      'bundle rel 1.0.0 [QA] pins cccccccc acme/leaf',
      'a.ipynb (kernel k1234567) fetched 2× acme/leaf',
      'user alice ran a.ipynb (kernel k1234567)',
      'b.ipynb (kernel k2) fetched 1× acme/leaf',
      'user alice ran b.ipynb (kernel k2)',
      'user bob fetched 3× acme/leaf'
    ]);
    // One node per repo, bundle, notebook and user.
    expect(graph.nodes.map(n => n.kind)).toEqual([
      'model',
      'base',
      'base',
      'missing-base',
      'bundle',
      'user',
      'notebook',
      'notebook',
      'user'
    ]);
  });

  it('stops nothing when lineage is unavailable', () => {
    const graph = lineageGraph(
      { ...OVERVIEW, base_chain: [], bundles: [] },
      null
    );
    expect(graph.nodes).toHaveLength(1);
    expect(graph.edges).toHaveLength(0);
  });

  it('writes a Mermaid flowchart with shapes and classes per kind', () => {
    const text = mermaidDefinition(
      lineageGraph(OVERVIEW, { affected: AFFECTED })
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('%%{init: {"theme": "default"}}%%');
    expect(lines[1]).toBe('flowchart LR');
    expect(
      mermaidDefinition(lineageGraph(OVERVIEW, { affected: AFFECTED }), true)
    ).toMatch(/^%%\{init: \{"theme": "dark"\}\}%%\n/);
    expect(lines).toContain('  n0[["acme/leaf"]]');
    expect(lines).toContain('  n4[/"bundle rel 1.0.0 #91;QA#93;"/]');
    expect(lines).toContain('  n0 -->|"fine-tuned from"| n1');
    expect(lines).toContain('  class n1,n2 mv-base');
  });

  it('escapes Mermaid syntax in untrusted labels', () => {
    const hostile = 'x"]; click n0 call alert(1) %% <img src=x>|\n--> y';
    const escaped = mermaidText(hostile);
    expect(escaped.replace(/#\d+;/g, '')).not.toMatch(/["<>|;#\n[\]()]/);
    expect(escaped).toContain('#34;');
    const graph = lineageGraph(
      { repo_id: hostile, base_chain: [], bundles: [] },
      {
        affected: [
          {
            user: 'u"]',
            notebook: 'n|.ipynb',
            kernel_id: null,
            fetches: 1,
            last_ts: 0
          }
        ]
      }
    );
    for (const line of mermaidDefinition(graph).split('\n').slice(2)) {
      expect(line).toMatch(
        /^ {2}(n\d+(\[\[|\[\/|\(\[|\[|\()"[^"]*"(\]\]|\/\]|\]\)|\]|\))|n\d+ -->\|"[^"]*"\| n\d+|class [n\d,]+ mv-[a-z-]+)$/
      );
    }
  });
});

describe('card, revisions and snippets', () => {
  it('drops the front matter of the README', () => {
    expect(cardBody('---\nlicense: mit\n---\n# Title\ntext')).toBe(
      '# Title\ntext'
    );
    expect(cardBody('# No front matter')).toBe('# No front matter');
    expect(cardBody(null)).toBe('');
    expect(cardBody('---\nunterminated')).toBe('---\nunterminated');
  });

  it('groups branches, tags and commits', () => {
    const groups = revisionGroups({
      refs: [
        { kind: 'branch', name: 'main', commit: COMMIT },
        { kind: 'tag', name: 'v1', commit: COMMIT },
        { kind: 'pr', name: '3', commit: COMMIT }
      ],
      commits: [{ sha: COMMIT, title: 'seed', author: 'a', created_at: 0 }]
    });
    expect(groups.map(g => [g.label, g.options.map(o => o.value)])).toEqual([
      ['Branches', ['main']],
      ['Tags', ['v1']],
      ['Commits', [COMMIT]]
    ]);
    expect(groups[2].options[0].text).toBe('cccccccc seed');
  });

  it('pins download snippets to the commit', () => {
    const code = downloadSnippet(
      'http://h/modelvault/hf/models',
      'dataset',
      'acme/d',
      COMMIT,
      'a "b".csv'
    );
    expect(code).toContain(
      'hf_hub_download("acme/d", "a \\"b\\".csv", repo_type="dataset",'
    );
    expect(code).toContain(`revision="${COMMIT}"`);
    expect(code).toContain('endpoint="http://h/modelvault/hf/models"');
  });

  it('reads the licence of core metadata', () => {
    expect(licenseOfMetadata('Name: x\nLicense-Expression: MIT\n\nbody')).toBe(
      'MIT'
    );
    expect(licenseOfMetadata('Name: x\nLicense: BSD\n')).toBe('BSD');
    expect(
      licenseOfMetadata(
        'Name: x\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: Apache Software License\n'
      )
    ).toBe('Apache Software License');
    expect(licenseOfMetadata('Name: x\n\nLicense: in the body\n')).toBeNull();
  });
});

describe('ModelPageModel', () => {
  const base = 'repositories/models/hub/models/acme/leaf';

  it('loads every page of files, the overview and the lineage', async () => {
    const requests: IFakeRequest[] = [];
    const pages: Record<string, ModelVault.IFilePage> = {
      '': page(['a', 'b'], 'p2', {
        total: 3,
        license: 'mit',
        decision: { status: 'allowed', violations: [], waived: [] }
      }),
      p2: page(['c'], null)
    };
    const settings = fakeSettings(
      routes({
        [`modelvault/api/${base}/files`]: r =>
          json(pages[new URL(r.url).searchParams.get('after') ?? '']),
        [`modelvault/api/${base}/overview`]: () =>
          json({ repo_id: 'acme/leaf', base_chain: [], bundles: [] }),
        'modelvault/api/lineage': () =>
          json({ error: 'Forbidden', message: 'admins only' }, 403),
        'modelvault/api/waivers': () => json({ waivers: [] })
      }),
      requests
    );
    const model = new ModelPageModel({
      args: { repository: 'models', repoType: 'model', repoId: 'acme/leaf' },
      client: new VaultClient({ serverSettings: settings })
    });
    await model.load('v1');
    expect(model.errors.files).toBeUndefined();
    expect(model.rows.map(r => r.file.path)).toEqual(['a', 'b', 'c']);
    expect(model.firstPage?.license).toBe('mit');
    expect(model.overview?.repo_id).toBe('acme/leaf');
    expect(model.errors.lineage).toBe(
      'Lineage is shown to administrators only.'
    );
    expect(model.loading).toBe(false);
    const files = requests.filter(r => r.url.includes('/files'));
    expect(files.map(r => new URL(r.url).searchParams.get('after'))).toEqual([
      null,
      'p2'
    ]);
    expect(
      files.every(r => new URL(r.url).searchParams.get('revision') === 'v1')
    ).toBe(true);
    const lineage = requests.find(r => r.url.includes('lineage'))!;
    expect(new URL(lineage.url).searchParams.get('subject')).toBe(
      'models/acme/leaf'
    );
  });
});

function page(
  paths: string[],
  next: string | null,
  extra: Partial<ModelVault.IFilePage> = {}
): ModelVault.IFilePage {
  return {
    repository: 'models',
    repo_id: 'acme/leaf',
    repo_type: 'model',
    revision: 'main',
    commit: COMMIT,
    source: 'models',
    warning: null,
    files: paths.map(p => file(p)),
    next,
    ...extra
  };
}
