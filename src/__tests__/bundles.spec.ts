import { ServerConnection } from '@jupyterlab/services';

import { bundleViolations, VaultClient } from '../api/client';
import { VaultResponseError } from '../api/request';
import { BundlesModel } from '../models/BundlesModel';
import { BASE_URL, html404, json } from './fakeServer';

interface ISeen {
  method: string;
  path: string;
  body: string;
  headers: Headers;
}

/**
 * A client whose requests are answered by `handler` (by path below the base URL).
 */
function fakeClient(
  handler: (seen: ISeen) => Response | Promise<Response>,
  seen: ISeen[] = []
): VaultClient {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: BASE_URL,
    token: 's3cret',
    appendToken: false,
    fetch: async (input: RequestInfo, init?: RequestInit) => {
      const request =
        input instanceof Request ? input : new Request(input, init);
      const entry: ISeen = {
        method: request.method,
        path: new URL(request.url).pathname.slice(
          new URL(BASE_URL).pathname.length
        ),
        body: request.method === 'GET' ? '' : await request.text(),
        headers: request.headers
      };
      seen.push(entry);
      return handler(entry);
    }
  });
  return new VaultClient({ serverSettings });
}

const DETAIL = {
  name: 'bert release',
  version: '1.0.0',
  digest: 'sha256:abc',
  environment: null,
  signature: { algorithm: 'ed25519', key_id: 'k1', signature: 'x' },
  manifest: {
    components: [
      {
        kind: 'hub',
        repository: 'models',
        repo_type: 'model',
        repo_id: 'acme/bert-tiny',
        commit: 'c0ffee',
        files: [{ path: 'config.json', sha256: 'aa', size: 3 }]
      }
    ]
  },
  promotions: []
};

const BLOCKED = {
  message: 'Bundle refused by policy: 1 violation',
  code: 'BundleBlocked',
  details: {
    violations: [
      {
        component: 'models:acme/evil-pickle',
        policy: 'scan',
        reason: 'malicious',
        message: 'model.pkl is malicious'
      }
    ]
  }
};

describe('VaultClient bundles', () => {
  it('lists environments and bundles', async () => {
    const client = fakeClient(() =>
      json({ environments: ['DEV', 'QA'], bundles: [DETAIL] })
    );
    await expect(client.getBundleList()).resolves.toEqual({
      environments: ['DEV', 'QA'],
      bundles: [DETAIL]
    });
    await expect(client.listBundles()).resolves.toEqual([DETAIL]);
  });

  it('returns null for a server without the bundles API', async () => {
    const client = fakeClient(() => html404());
    await expect(client.getBundleList()).resolves.toBeNull();
  });

  it('creates a bundle with a JSON body', async () => {
    const seen: ISeen[] = [];
    const client = fakeClient(() => json(DETAIL, 201), seen);
    const request = {
      name: 'bert release',
      version: '1.0.0',
      components: [
        {
          kind: 'hub' as const,
          repository: 'models',
          repo_id: 'acme/bert-tiny',
          revision: 'main'
        }
      ]
    };
    await expect(client.createBundle(request)).resolves.toEqual(DETAIL);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].path).toBe('modelvault/api/bundles');
    expect(JSON.parse(seen[0].body)).toEqual(request);
  });

  it('exposes the violations of a refused creation', async () => {
    const client = fakeClient(() => json(BLOCKED, 403));
    const error = await client
      .createBundle({ name: 'x', version: '1', components: [] })
      .catch(e => e);
    expect(error).toBeInstanceOf(VaultResponseError);
    expect(error.message).toBe(BLOCKED.message);
    expect(bundleViolations(error)).toEqual(BLOCKED.details.violations);
    expect(bundleViolations(new Error('other'))).toBeNull();
  });

  it('shows, verifies and promotes with encoded paths', async () => {
    const seen: ISeen[] = [];
    const client = fakeClient(({ path }) => {
      if (path.endsWith('/verify')) {
        return json({ ok: true, problems: [] });
      }
      if (path.endsWith('/promote')) {
        return json({ ...DETAIL, environment: 'DEV' });
      }
      return json(DETAIL);
    }, seen);
    await client.getBundle('bert release', '1.0.0');
    await expect(client.verifyBundle('bert release', '1.0.0')).resolves.toEqual(
      { ok: true, problems: [] }
    );
    const promoted = await client.promoteBundle('bert release', '1.0.0', 'DEV');
    expect(promoted.environment).toBe('DEV');
    expect(seen.map(s => `${s.method} ${s.path}`)).toEqual([
      'GET modelvault/api/bundles/bert%20release/1.0.0',
      'GET modelvault/api/bundles/bert%20release/1.0.0/verify',
      'POST modelvault/api/bundles/bert%20release/1.0.0/promote'
    ]);
    expect(JSON.parse(seen[2].body)).toEqual({ to: 'DEV' });
  });

  it('downloads an archive as a blob with the Jupyter token', async () => {
    const seen: ISeen[] = [];
    const client = fakeClient(
      () => new Response('tar bytes', { status: 200 }),
      seen
    );
    const blob = await client.downloadBundle('b', '1', 'archive');
    expect(await blob.text()).toBe('tar bytes');
    expect(seen[0].path).toBe('modelvault/api/bundles/b/1/archive');
    expect(seen[0].headers.get('Authorization')).toBe('token s3cret');
    expect(client.bundleDownloadUrl('b', '1', 'bom')).toBe(
      `${BASE_URL}modelvault/api/bundles/b/1/bom`
    );
  });

  it('reports the server message of a failed download', async () => {
    const client = fakeClient(() =>
      json(
        { message: 'Bundle b 1 does not exist', code: 'BundleNotFound' },
        404
      )
    );
    await expect(client.downloadBundle('b', '1', 'bom')).rejects.toThrow(
      'Bundle b 1 does not exist'
    );
  });
});

describe('BundlesModel', () => {
  it('computes the next environment', () => {
    const envs = ['DEV', 'QA', 'PROD'];
    expect(BundlesModel.nextEnvironment(envs, null)).toBe('DEV');
    expect(BundlesModel.nextEnvironment(envs, 'DEV')).toBe('QA');
    expect(BundlesModel.nextEnvironment(envs, 'PROD')).toBeNull();
  });

  it('opens, verifies and promotes a bundle', async () => {
    let environment: string | null = null;
    const client = fakeClient(({ path }) => {
      if (path === 'modelvault/api/bundles') {
        return json({ environments: ['DEV', 'QA', 'PROD'], bundles: [] });
      }
      if (path.endsWith('/verify')) {
        return json({ ok: true, problems: [] });
      }
      if (path.endsWith('/promote')) {
        environment = 'DEV';
      }
      return json({ ...DETAIL, environment });
    });
    const listChanged = jest.fn();
    const model = new BundlesModel({ client, onBundlesChanged: listChanged });
    const changes = jest.fn();
    model.changed.connect(changes);

    await model.open('bert release', '1.0.0');
    expect(model.detail?.signature?.key_id).toBe('k1');
    expect(model.environments).toEqual(['DEV', 'QA', 'PROD']);
    expect(model.nextEnvironment).toBe('DEV');
    expect(changes).toHaveBeenCalled();

    await model.verify();
    expect(model.verifyReport?.ok).toBe(true);

    await model.promote();
    expect(model.detail?.environment).toBe('DEV');
    expect(model.nextEnvironment).toBe('QA');
    expect(listChanged).toHaveBeenCalledTimes(1);
    expect(model.busy).toBeNull();

    model.close();
    expect(model.detail).toBeNull();
    model.dispose();
    expect(model.isDisposed).toBe(true);
  });

  it('keeps the server message when a bundle cannot be opened', async () => {
    const client = fakeClient(() =>
      json(
        { message: 'Bundle x 1 does not exist', code: 'BundleNotFound' },
        404
      )
    );
    const model = new BundlesModel({ client });
    await model.open('x', '1');
    expect(model.error).toBe('Bundle x 1 does not exist');
    expect(model.isLoading).toBe(false);
    model.dispose();
  });

  it('creates a bundle, closes the wizard and opens it; a refusal keeps the wizard', async () => {
    let blocked = true;
    const client = fakeClient(() =>
      blocked ? json(BLOCKED, 403) : json(DETAIL, 201)
    );
    const listChanged = jest.fn();
    const model = new BundlesModel({ client, onBundlesChanged: listChanged });
    model.isWizardOpen = true;
    const request = { name: 'bert release', version: '1.0.0', components: [] };

    const error = await model.create(request).catch(e => e);
    expect(bundleViolations(error)).toHaveLength(1);
    expect(model.isWizardOpen).toBe(true);
    expect(listChanged).not.toHaveBeenCalled();

    blocked = false;
    await model.create(request);
    expect(model.isWizardOpen).toBe(false);
    expect(model.detail?.name).toBe('bert release');
    expect(listChanged).toHaveBeenCalledTimes(1);
    model.dispose();
  });

  it('names downloads after the bundle', async () => {
    const client = fakeClient(({ path }) =>
      path.endsWith('/bom') ? new Response('{}') : json(DETAIL)
    );
    const model = new BundlesModel({ client });
    await model.open('bert release', '1.0.0');
    const { filename } = await model.download('bom');
    expect(filename).toBe('bert release-1.0.0.cdx.json');
    model.dispose();
  });
});
