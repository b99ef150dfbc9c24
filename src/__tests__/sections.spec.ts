import { VaultClient } from '../api/client';
import { BrowserModel } from '../models/BrowserModel';
import { SetMeUpModel } from '../models/SetMeUpModel';
import { ViolationsModel } from '../models/ViolationsModel';
import { formatSize, snippetsFor, withCredentials } from '../snippets';
import type { ModelVault } from '../tokens';
import {
  BASE_URL,
  FakeHandler,
  fakeSettings,
  html404,
  IFakeRequest,
  json
} from './fakeServer';

const SHA = 'a'.repeat(64);

function file(
  path: string,
  status: ModelVault.FileStatus = 'clean'
): ModelVault.IRepoFile {
  return {
    path,
    size: 10,
    sha256: SHA,
    lfs: false,
    verdict: status === 'not-scanned' ? null : 'clean',
    status,
    violations: [],
    waived: []
  };
}

function filePage(
  files: ModelVault.IRepoFile[],
  next: string | null,
  first: boolean
): Partial<ModelVault.IFilePage> {
  return {
    repository: 'models',
    repo_id: 'acme/bert',
    repo_type: 'model',
    revision: 'main',
    commit: 'c'.repeat(40),
    source: 'models',
    warning: null,
    files,
    next,
    ...(first
      ? {
          total: 3,
          license: 'apache-2.0',
          decision: { status: 'allowed', violations: [], waived: [] }
        }
      : {})
  };
}

/**
 * A fake server routing on method, path (below the base URL) and query.
 */
function server(
  handler: (method: string, path: string, query: URLSearchParams) => Response,
  requests: IFakeRequest[] = []
): VaultClient {
  const wrapped: FakeHandler = request => {
    const url = new URL(request.url);
    const path = url.pathname.slice(new URL(BASE_URL).pathname.length);
    return handler(request.method, path, url.searchParams);
  };
  return new VaultClient({ serverSettings: fakeSettings(wrapped, requests) });
}

describe('VaultClient (sections)', () => {
  it('pages Hub repos with type, after and limit', async () => {
    const requests: IFakeRequest[] = [];
    const client = server(
      () =>
        json({
          repos: [{ repo_id: 'acme/bert', repo_type: 'model' }],
          next: null
        }),
      requests
    );
    const page = await client.listHubRepos('models', {
      type: 'model',
      after: 'acme/a',
      limit: 10
    });
    expect(page.repos).toHaveLength(1);
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe('/a%40b/modelvault/api/repositories/models/hub');
    expect(url.searchParams.get('type')).toBe('model');
    expect(url.searchParams.get('after')).toBe('acme/a');
    expect(url.searchParams.get('limit')).toBe('10');
  });

  it('lists files below the Hub repo path with revision and cursor', async () => {
    const requests: IFakeRequest[] = [];
    const client = server(
      () => json(filePage([file('a')], null, true)),
      requests
    );
    const page = await client.listFiles('models', 'model', 'acme/bert', {
      revision: 'refs/pr/1',
      after: 'cursor'
    });
    expect(page.files[0].path).toBe('a');
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe(
      '/a%40b/modelvault/api/repositories/models/hub/models/acme/bert/files'
    );
    expect(url.searchParams.get('revision')).toBe('refs/pr/1');
    expect(url.searchParams.get('after')).toBe('cursor');
  });

  it('gets and re-runs scans, grants and revokes waivers, mints tokens', async () => {
    const requests: IFakeRequest[] = [];
    const client = server((method, path) => {
      if (path.startsWith('modelvault/api/scans/')) {
        return json({ sha256: SHA, verdict: 'malicious', report: {} });
      }
      if (path === 'modelvault/api/waivers' && method === 'POST') {
        return json({ id: 7, policy: 'malicious-models' }, 201);
      }
      if (path === 'modelvault/api/waivers/7') {
        return new Response(null, { status: 204 });
      }
      if (path === 'modelvault/api/tokens') {
        return json({ token: 'mvt_x', id: '1', repositories: ['models'] }, 201);
      }
      if (path === 'modelvault/api/audit') {
        return json({ events: [{ id: 1, action: 'waiver.grant' }] });
      }
      return html404();
    }, requests);
    expect((await client.getScan(SHA)).verdict).toBe('malicious');
    await client.rescan(SHA);
    expect(requests[1].method).toBe('POST');
    const waiver = await client.grantWaiver({
      policy: 'malicious-models',
      sha256: SHA,
      justification: 'reviewed',
      expires_in_seconds: 60
    });
    expect(waiver.id).toBe(7);
    await expect(client.revokeWaiver(7)).resolves.toBeUndefined();
    expect(requests[3].method).toBe('DELETE');
    const token = await client.mintToken({
      name: 't',
      scope: 'read',
      repositories: ['models']
    });
    expect(token.token).toBe('mvt_x');
    const events = await client.queryAudit({ subject: 'models/acme' });
    expect(events[0].action).toBe('waiver.grant');
    expect(new URL(requests[5].url).searchParams.get('subject')).toBe(
      'models/acme'
    );
  });

  it('reports a missing bundles API as null and keeps real errors', async () => {
    expect(await server(() => html404()).listBundles()).toBeNull();
    expect(
      await server(() =>
        json({ bundles: [{ name: 'b', version: '1' }] })
      ).listBundles()
    ).toEqual([{ name: 'b', version: '1' }]);
    await expect(
      server(() =>
        json({ message: 'nope', code: 'PermissionDenied' }, 403)
      ).listBundles()
    ).rejects.toThrow('nope');
  });
});

describe('BrowserModel', () => {
  it('walks repository, Hub repos, files (paged) and a file scan', async () => {
    const client = server((method, path, query) => {
      if (path === 'modelvault/api/repositories/models/hub') {
        return json({
          repos: [{ repo_id: 'acme/bert', repo_type: 'model' }],
          next: null
        });
      }
      if (path.endsWith('/files')) {
        return query.get('after')
          ? json(filePage([file('c', 'blocked')], null, false))
          : json(filePage([file('a'), file('b')], 'next', true));
      }
      if (path.startsWith('modelvault/api/scans/')) {
        return json({ sha256: SHA, verdict: 'clean', report: {} });
      }
      return html404();
    });
    const model = new BrowserModel({ client });
    let changes = 0;
    model.changed.connect(() => changes++);

    await model.openRepository('models');
    expect(model.hubRepos.items.map(r => r.repo_id)).toEqual(['acme/bert']);
    expect(model.hubRepos.next).toBeNull();

    await model.openRepo('model', 'acme/bert');
    expect(model.files.items.map(f => f.path)).toEqual(['a', 'b']);
    expect(model.summary?.license).toBe('apache-2.0');
    expect(model.files.next).toBe('next');
    await model.loadMoreFiles();
    expect(model.files.items.map(f => f.path)).toEqual(['a', 'b', 'c']);
    expect(model.files.next).toBeNull();
    // Nothing more to load: no request, no change.
    await model.loadMoreFiles();
    expect(model.files.items).toHaveLength(3);

    const selected: (ModelVault.IRepoFile | null)[] = [];
    model.fileSelected.connect((_, f) => selected.push(f));
    await model.selectFile(model.files.items[0]);
    expect(model.scan?.verdict).toBe('clean');
    expect(selected.map(f => f?.path)).toEqual(['a']);

    model.back();
    expect(model.repo).toBeNull();
    expect(model.files.items).toHaveLength(0);
    expect(model.file).toBeNull();
    expect(changes).toBeGreaterThan(5);
    model.dispose();
  });

  it('reports errors and drops answers for a level the user left', async () => {
    const client = server((method, path) => {
      if (path === 'modelvault/api/repositories/slow/hub') {
        return json({ repos: [{ repo_id: 'x/slow' }], next: null });
      }
      return json(
        { message: 'Repository "gone" does not exist', code: 'NotFound' },
        404
      );
    });
    const model = new BrowserModel({ client });
    const slow = model.openRepository('slow');
    const gone = model.openRepository('gone');
    await Promise.all([slow, gone]);
    expect(model.repository).toBe('gone');
    expect(model.hubRepos.items).toHaveLength(0);
    expect(model.hubRepos.error).toBe('Repository "gone" does not exist');
    model.dispose();
  });

  it('reloads file statuses after a waiver, keeping the selection', async () => {
    let status: ModelVault.FileStatus = 'blocked';
    const client = server((method, path) =>
      path.endsWith('/files')
        ? json(filePage([file('m.pkl', status)], null, true))
        : json({ sha256: SHA, verdict: 'malicious', report: {} })
    );
    const model = new BrowserModel({ client });
    await model.openRepository('models');
    await model.openRepo('model', 'acme/bert');
    await model.selectFile(model.files.items[0]);
    status = 'waived';
    await model.reloadFiles();
    expect(model.files.items[0].status).toBe('waived');
    expect(model.file?.status).toBe('waived');
    model.dispose();
  });
});

describe('ViolationsModel', () => {
  it('loads violations and waivers, and reloads after a grant', async () => {
    const requests: IFakeRequest[] = [];
    let waivers: unknown[] = [];
    const client = server((method, path) => {
      if (path === 'modelvault/api/violations') {
        return json({
          events: [{ id: 1, action: 'policy.block', detail: {} }],
          flagged_blobs: [{ sha256: SHA, verdict: 'malicious', report: {} }]
        });
      }
      if (path === 'modelvault/api/waivers' && method === 'POST') {
        waivers = [{ id: 3, policy: 'malicious-models' }];
        return json(waivers[0], 201);
      }
      if (path === 'modelvault/api/waivers') {
        return json({ waivers });
      }
      return html404();
    }, requests);
    const model = new ViolationsModel({ client, refreshInterval: 0 });
    let toggled = 0;
    model.waiversChanged.connect(() => toggled++);
    await model.refresh();
    expect(model.isLoaded).toBe(true);
    expect(model.events).toHaveLength(1);
    expect(model.flaggedBlobs).toHaveLength(1);
    expect(model.waivers).toHaveLength(0);

    await model.grantWaiver({
      policy: 'malicious-models',
      sha256: SHA,
      justification: 'reviewed',
      expires_in_seconds: 60
    });
    expect(toggled).toBe(1);
    expect(model.waivers).toHaveLength(1);
    expect(
      requests.some(r => new URL(r.url).searchParams.get('all') === 'true')
    ).toBe(true);
    model.dispose();
  });

  it('loads the policies with what each does', async () => {
    const policy = {
      name: 'approved-licenses',
      kind: 'license',
      action: 'audit',
      params: { unlicensed: 'block' },
      summary: 'no or unreadable licence: audit'
    };
    const client = server((method, path) => {
      if (path === 'modelvault/api/policies') {
        return json({ policies: [policy] });
      }
      if (path === 'modelvault/api/violations') {
        return json({ events: [], flagged_blobs: [] });
      }
      if (path === 'modelvault/api/waivers') {
        return json({ waivers: [] });
      }
      return html404();
    });
    const model = new ViolationsModel({ client, refreshInterval: 0 });
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.policies).toEqual([policy]);
    model.dispose();
  });

  it('keeps the error message and rejects grants with the server message', async () => {
    const client = server(() =>
      json({ message: 'Only admins may waive', code: 'PermissionDenied' }, 403)
    );
    const model = new ViolationsModel({ client, refreshInterval: 0 });
    await model.refresh();
    expect(model.error).toBe('Only admins may waive');
    await expect(
      model.grantWaiver({
        policy: 'p',
        repo_id: 'a/b',
        justification: 'x',
        expires_in_seconds: 1
      })
    ).rejects.toThrow('Only admins may waive');
    await model.loadAudit('models/');
    expect(model.auditError).toBe('Only admins may waive');
    expect(model.auditSubject).toBe('models/');
    model.dispose();
  });
});

describe('SetMeUpModel and snippets', () => {
  it('mints a token for the chosen repository', async () => {
    const requests: IFakeRequest[] = [];
    const bodies: string[] = [];
    const client = new VaultClient({
      serverSettings: fakeSettings(
        () =>
          json({ token: 'mvt_secret', id: '1', repositories: ['pypi'] }, 201),
        requests
      )
    });
    const original = client.serverSettings.fetch;
    (client.serverSettings as { fetch: typeof fetch }).fetch = (async (
      input: RequestInfo,
      init?: RequestInit
    ) => {
      if (input instanceof Request) {
        bodies.push(await input.clone().text());
      }
      return original(input, init);
    }) as typeof fetch;
    const model = new SetMeUpModel({ client });
    model.repository = 'pypi';
    const token = await model.mintToken('read', 3600);
    expect(token.token).toBe('mvt_secret');
    expect(model.token?.token).toBe('mvt_secret');
    expect(JSON.parse(bodies[0])).toEqual({
      name: 'jupyterlab-pypi',
      scope: 'read',
      repositories: ['pypi'],
      expires_in_seconds: 3600
    });
    model.clearToken();
    expect(model.token).toBeNull();
    model.dispose();
  });

  it('builds Hub and PyPI snippets from the server URLs', () => {
    const hub = snippetsFor(
      {
        key: 'models',
        kind: 'hf-local',
        public: false,
        description: '',
        config: {},
        created_at: 0,
        hub_endpoint: 'http://h:8888/jp/modelvault/hf/models'
      },
      'mvt_t'
    );
    expect(hub.map(s => s.id)).toEqual([
      'env',
      'huggingface_hub',
      'transformers'
    ]);
    expect(hub[0].code).toBe(
      'export HF_ENDPOINT=http://h:8888/jp/modelvault/hf/models\nexport HF_TOKEN=mvt_t'
    );
    const pypi = snippetsFor(
      {
        key: 'py',
        kind: 'pypi-local',
        public: false,
        description: '',
        config: {},
        created_at: 0,
        index_url: 'https://v.example/modelvault/pypi/py/simple/'
      },
      null
    );
    expect(pypi.map(s => s.id)).toEqual(['pip', 'uv', 'twine']);
    expect(pypi[0].code).toContain(
      'https://__token__:<YOUR_TOKEN>@v.example/modelvault/pypi/py/simple/'
    );
    expect(pypi[2].code).toContain(
      '--repository-url https://v.example/modelvault/pypi/py/ '
    );
    expect(withCredentials('ftp://x', 't')).toBe('ftp://x');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(12)).toBe('12 B');
  });
});
