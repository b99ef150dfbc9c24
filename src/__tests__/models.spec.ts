import { PromiseDelegate } from '@lumino/coreutils';

import { VaultClient } from '../api/client';
import { VaultModel } from '../models/VaultModel';
import { ModelVault } from '../tokens';
import {
  FakeHandler,
  fakeSettings,
  html404,
  IFakeRequest,
  json,
  routes
} from './fakeServer';

const REPOSITORIES = {
  repositories: [
    {
      key: 'models',
      kind: 'hf-local',
      public: false,
      description: '',
      hub_endpoint: 'http://localhost:8888/a%40b/modelvault/hf/models'
    }
  ]
};

function info(version: string) {
  return json({
    name: 'ModelVault',
    version,
    data_dir_backend: 'fs',
    user: { name: 'ada', admin: true }
  });
}

function createModel(
  handler: FakeHandler,
  requests: IFakeRequest[] = []
): VaultModel {
  return new VaultModel({
    client: new VaultClient({
      serverSettings: fakeSettings(handler, requests)
    }),
    frontendVersion: '0.1.0',
    refreshInterval: 0
  });
}

describe('VaultModel', () => {
  let model: VaultModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('is ready when the server has the same version', async () => {
    model = createModel(routes({ 'modelvault/api/info': () => info('0.1.0') }));
    const seen: ModelVault.ServerStatus[] = [];
    model.serverStatusChanged.connect((_, status) => seen.push(status));

    const status = await model.checkServer();

    expect(status.state).toBe('ready');
    expect(model.isServerAvailable).toBe(true);
    expect(seen.map(s => s.state)).toEqual(['ready']);
  });

  it('reports a version mismatch once', async () => {
    model = createModel(routes({ 'modelvault/api/info': () => info('0.2.0') }));
    const seen: ModelVault.ServerStatus[] = [];
    model.serverStatusChanged.connect((_, status) => seen.push(status));

    await model.checkServer();
    await model.checkServer();

    expect(model.serverStatus).toEqual({
      state: 'version-mismatch',
      frontendVersion: '0.1.0',
      info: expect.objectContaining({ version: '0.2.0' })
    });
    expect(model.isServerAvailable).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it('reports a missing server extension on a plain 404 and loads nothing else', async () => {
    const requests: IFakeRequest[] = [];
    model = createModel(html404, requests);

    await model.refresh();

    expect(model.serverStatus).toEqual({ state: 'not-installed' });
    expect(model.isServerAvailable).toBe(false);
    expect(requests).toHaveLength(1);
    expect(model.repositories.isLoaded).toBe(false);
  });

  it('reports other server errors with the server message and code', async () => {
    model = createModel(() =>
      json(
        { message: 'Vault storage is unavailable', code: 'StorageError' },
        500
      )
    );

    await model.checkServer();

    expect(model.serverStatus).toEqual({
      state: 'error',
      message: 'Vault storage is unavailable',
      code: 'StorageError'
    });
  });

  it('checks the server again on refresh until it is available', async () => {
    let installed = false;
    model = createModel(request =>
      installed
        ? routes({
            'modelvault/api/info': () => info('0.1.0'),
            'modelvault/api/repositories': () => json(REPOSITORIES)
          })(request)
        : html404()
    );

    await model.refresh();
    expect(model.serverStatus.state).toBe('not-installed');

    installed = true;
    await model.refresh();

    expect(model.serverStatus.state).toBe('ready');
    expect(model.repositories.items.map(r => r.key)).toEqual(['models']);
  });
});

describe('RepoListModel', () => {
  let model: VaultModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('loads repositories and emits changes', async () => {
    model = createModel(
      routes({
        'modelvault/api/info': () => info('0.1.0'),
        'modelvault/api/repositories': () => json(REPOSITORIES)
      })
    );
    let changes = 0;
    model.repositories.changed.connect(() => changes++);

    await model.refresh();

    const repositories = model.repositories;
    expect(repositories.isLoaded).toBe(true);
    expect(repositories.isLoading).toBe(false);
    expect(repositories.error).toBeNull();
    expect(repositories.items).toEqual(REPOSITORIES.repositories);
    expect(changes).toBeGreaterThanOrEqual(2);
  });

  it('shares one request between concurrent refreshes', async () => {
    const gate = new PromiseDelegate<void>();
    const requests: IFakeRequest[] = [];
    model = createModel(
      routes({
        'modelvault/api/info': () => info('0.1.0'),
        'modelvault/api/repositories': async () => {
          await gate.promise;
          return json(REPOSITORIES);
        }
      }),
      requests
    );
    await model.checkServer();

    const first = model.repositories.refresh();
    const second = model.repositories.refresh();
    expect(model.repositories.isLoading).toBe(true);
    gate.resolve();
    await Promise.all([first, second]);

    expect(requests.filter(r => r.url.includes('/repositories')).length).toBe(
      1
    );
  });

  it('keeps the server message of a failed load and clears it after a success', async () => {
    let fail = true;
    model = createModel(
      routes({
        'modelvault/api/info': () => info('0.1.0'),
        'modelvault/api/repositories': () =>
          fail
            ? json(
                {
                  message: 'Repository index is corrupt',
                  code: 'StorageError'
                },
                500
              )
            : json(REPOSITORIES)
      })
    );

    await model.refresh();
    expect(model.repositories.error).toBe('Repository index is corrupt');
    expect(model.repositories.isLoaded).toBe(false);

    fail = false;
    await model.refresh();
    expect(model.repositories.error).toBeNull();
    expect(model.repositories.items).toHaveLength(1);
  });

  it('turns polling off for an interval of 0', () => {
    model = createModel(html404);
    expect(model.repositories.refreshInterval).toBe(0);

    model.repositories.refreshInterval = 5000;
    expect(model.repositories.refreshInterval).toBe(5000);
  });
});
