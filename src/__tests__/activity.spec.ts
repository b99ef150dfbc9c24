import { VaultClient } from '../api/client';
import { activityFraction } from '../components/ActivityView';
import { componentKey, componentLabel } from '../components/BundlePickers';
import { ActivityModel } from '../models/ActivityModel';
import { BundlesModel } from '../models/BundlesModel';
import type { ModelVault } from '../tokens';
import {
  BASE_URL,
  FakeHandler,
  fakeSettings,
  IFakeRequest,
  json,
  routes
} from './fakeServer';

function client(handler: FakeHandler, requests: IFakeRequest[] = []) {
  return new VaultClient({ serverSettings: fakeSettings(handler, requests) });
}

function op(
  id: string,
  state: ModelVault.IActivity['state'] = 'running',
  extra: Partial<ModelVault.IActivity> = {}
): ModelVault.IActivity {
  return {
    id,
    kind: 'transfer',
    repository: 'hub-remote',
    subject: 'acme/bert/model.safetensors',
    bytes_done: 10,
    total: 40,
    started_at: 1,
    state,
    message: state === 'failed' ? 'Upstream sent 10 of 40 bytes' : null,
    ...extra
  };
}

/**
 * The request's path below the base URL (without the query).
 */
function path(request: IFakeRequest): string {
  return new URL(request.url).pathname.slice(new URL(BASE_URL).pathname.length);
}

describe('ActivityModel', () => {
  let model: ActivityModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('lists running operations and reports each failure once', async () => {
    let answer: ModelVault.IActivity[] = [op('t1'), op('e1', 'verifying')];
    model = new ActivityModel({
      client: client(
        routes({
          'modelvault/api/activity': () => json({ operations: answer })
        })
      ),
      refreshInterval: 0
    });
    const failures: ModelVault.IActivity[] = [];
    model.failed.connect((_, failed) => failures.push(failed));
    let changes = 0;
    model.changed.connect(() => changes++);

    await model.refresh();
    expect(model.operations.map(o => o.id)).toEqual(['t1', 'e1']);
    expect(model.isLoaded).toBe(true);
    expect(changes).toBeGreaterThan(0);

    // t1 failed: it leaves the running list and is reported...
    answer = [op('e1', 'verifying'), op('t1', 'failed')];
    await model.refresh();
    expect(model.operations.map(o => o.id)).toEqual(['e1']);
    expect(failures.map(f => [f.id, f.message])).toEqual([
      ['t1', 'Upstream sent 10 of 40 bytes']
    ]);
    // ...once, although the server keeps listing it for a while.
    await model.refresh();
    expect(failures).toHaveLength(1);

    // Done: everything disappears.
    answer = [];
    await model.refresh();
    expect(model.operations).toEqual([]);
    expect(failures).toHaveLength(1);
  });

  it('does not report failures that predate the first load', async () => {
    let answer = [op('old', 'failed')];
    model = new ActivityModel({
      client: client(
        routes({
          'modelvault/api/activity': () => json({ operations: answer })
        })
      ),
      refreshInterval: 0
    });
    const failures: string[] = [];
    model.failed.connect((_, failed) => failures.push(failed.id));
    await model.refresh();
    await model.refresh();
    expect(failures).toEqual([]);
    answer = [op('old', 'failed'), op('new', 'failed')];
    await model.refresh();
    expect(failures).toEqual(['new']);
  });

  it('keeps the server message when the activity cannot be loaded', async () => {
    model = new ActivityModel({
      client: client(() =>
        json({ message: 'Token lacks read', code: 'PermissionDenied' }, 403)
      ),
      refreshInterval: 0
    });
    await model.refresh();
    expect(model.error).toContain('Token lacks read');
    expect(model.operations).toEqual([]);
  });

  it('computes progress fractions, unknown without a total', () => {
    expect(activityFraction(op('a'))).toBe(0.25);
    expect(activityFraction(op('a', 'running', { total: null }))).toBeNull();
    expect(activityFraction(op('a', 'running', { total: 0 }))).toBeNull();
    expect(
      activityFraction(op('a', 'running', { bytes_done: 50, total: 40 }))
    ).toBe(1);
  });
});

describe('BundlesModel as the wizard source', () => {
  it('pages Hub repos and lists packages and generic files', async () => {
    const requests: IFakeRequest[] = [];
    const bundles = new BundlesModel({
      client: client(request => {
        const p = path(request);
        if (p.startsWith('modelvault/api/repositories/models/hub')) {
          return json({
            repos: [{ repo_id: 'acme/a', repo_type: 'model' }],
            next: new URL(request.url).searchParams.has('after')
              ? null
              : 'model:acme/a'
          });
        }
        if (p === 'modelvault/api/repositories/py%20pi/packages') {
          return json({ projects: ['numpy'] });
        }
        if (p === 'modelvault/api/repositories/py%20pi/packages/numpy') {
          return json({
            project: 'numpy',
            files: [
              {
                filename: 'numpy-2.0-py3-none-any.whl',
                version: '2.0',
                sha256: 'a'.repeat(64),
                size: 3
              }
            ]
          });
        }
        if (p === 'modelvault/api/files') {
          return json({
            files: [{ name: 'report.txt', sha256: 'b', size: 1 }]
          });
        }
        return json({ message: `unexpected ${p}` }, 500);
      }, requests)
    });
    const first = await bundles.listHubRepos('models');
    expect(first.next).toBe('model:acme/a');
    const second = await bundles.listHubRepos('models', first.next);
    expect(second.next).toBeNull();
    const query = (i: number) => new URL(requests[i].url).searchParams;
    expect(query(0).get('limit')).toBe(String(BundlesModel.HUB_PAGE_SIZE));
    expect(query(0).has('after')).toBe(false);
    expect(query(1).get('after')).toBe('model:acme/a');

    await expect(bundles.listPackageProjects('py pi')).resolves.toEqual([
      'numpy'
    ]);
    const files = await bundles.listPackageFiles('py pi', 'numpy');
    expect(files.map(f => f.version)).toEqual(['2.0']);
    const generic = await bundles.listGenericFiles();
    expect(generic.map(f => f.name)).toEqual(['report.txt']);
    bundles.dispose();
  });

  it('identifies and labels picked components of every kind', () => {
    const hub: ModelVault.BundleComponentRequest = {
      kind: 'hub',
      repository: 'models',
      repo_type: 'model',
      repo_id: 'acme/bert',
      revision: 'v1'
    };
    const allFiles: ModelVault.BundleComponentRequest = {
      kind: 'package',
      repository: 'pypi',
      name: 'numpy',
      version: '2.0'
    };
    const oneFile = { ...allFiles, filename: 'numpy-2.0.tar.gz' };
    const file: ModelVault.BundleComponentRequest = {
      kind: 'file',
      name: 'report.txt'
    };
    const keys = [hub, allFiles, oneFile, file].map(componentKey);
    expect(new Set(keys).size).toBe(4);
    // The revision does not make another component: one pin per Hub repo.
    expect(componentKey({ ...hub, revision: 'main' })).toBe(keys[0]);
    expect(componentLabel(hub)).toEqual({
      name: 'acme/bert',
      detail: '@v1',
      badge: 'models'
    });
    expect(componentLabel(allFiles)).toEqual({
      name: 'numpy',
      detail: '==2.0',
      badge: 'pypi'
    });
    expect(componentLabel(oneFile).name).toBe('numpy-2.0.tar.gz');
    expect(componentLabel(file).badge).toBe('file');
  });
});
