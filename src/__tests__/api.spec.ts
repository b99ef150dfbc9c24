import { ServerConnection } from '@jupyterlab/services';

import { VaultClient } from '../api/client';
import { describeError, requestAPI, VaultResponseError } from '../api/request';
import {
  BASE_URL,
  fakeSettings,
  html404,
  IFakeRequest,
  json,
  routes
} from './fakeServer';

const INFO = {
  name: 'ModelVault',
  version: '0.1.0',
  data_dir_backend: 'fs',
  user: { name: 'ada', admin: true }
};

const MODELS = {
  key: 'models',
  kind: 'hf-local',
  public: false,
  description: '',
  hub_endpoint: 'http://localhost:8888/a%40b/modelvault/hf/models'
};

describe('VaultClient', () => {
  it('sends the frontend version to modelvault/api/info below the base URL', async () => {
    const requests: IFakeRequest[] = [];
    const client = new VaultClient({
      serverSettings: fakeSettings(
        routes({ 'modelvault/api/info': () => json(INFO) }),
        requests
      )
    });

    const info = await client.getInfo('0.1.0');

    expect(info).toEqual(INFO);
    expect(requests).toHaveLength(1);
    expect(requests[0].method).toBe('GET');
    // ServerConnection appends a cache-busting parameter to GET requests.
    expect(requests[0].url).toMatch(
      new RegExp(`^${BASE_URL}modelvault/api/info\\?version=0\\.1\\.0(&\\d+)?$`)
    );
  });

  it('lists repositories', async () => {
    const client = new VaultClient({
      serverSettings: fakeSettings(
        routes({
          'modelvault/api/repositories': () => json({ repositories: [MODELS] })
        })
      )
    });

    await expect(client.listRepositories()).resolves.toEqual([MODELS]);
  });

  it('rejects a repository list without "repositories"', async () => {
    const client = new VaultClient({
      serverSettings: fakeSettings(
        routes({ 'modelvault/api/repositories': () => json({}) })
      )
    });

    await expect(client.listRepositories()).rejects.toThrow(
      /no "repositories" list/
    );
  });
});

describe('requestAPI', () => {
  it('throws VaultResponseError with the server message, status and code', async () => {
    const settings = fakeSettings(() =>
      json(
        {
          message: 'Repository "nope" does not exist',
          reason: 'Not Found',
          code: 'RepositoryNotFound'
        },
        404
      )
    );

    const error = await requestAPI('repositories/nope', {}, settings).catch(
      (e: unknown) => e
    );

    expect(error).toBeInstanceOf(VaultResponseError);
    expect(error).toBeInstanceOf(ServerConnection.ResponseError);
    const vaultError = error as VaultResponseError;
    expect(vaultError.status).toBe(404);
    expect(vaultError.code).toBe('RepositoryNotFound');
    expect(vaultError.reason).toBe('Not Found');
    expect(vaultError.message).toBe('Repository "nope" does not exist');
    expect(describeError(vaultError)).toBe('Repository "nope" does not exist');
  });

  it('has no code for a non-JSON error page', async () => {
    const error = (await requestAPI('info', {}, fakeSettings(html404)).catch(
      (e: unknown) => e
    )) as VaultResponseError;

    expect(error).toBeInstanceOf(VaultResponseError);
    expect(error.status).toBe(404);
    expect(error.code).toBeNull();
    expect(error.message).toMatch(/404/);
  });

  it('keeps jupyter_server error bodies without a code', async () => {
    const error = (await requestAPI(
      'info',
      {},
      fakeSettings(() => json({ message: 'Forbidden', reason: null }, 403))
    ).catch((e: unknown) => e)) as VaultResponseError;

    expect(error.status).toBe(403);
    expect(error.code).toBeNull();
    expect(error.message).toBe('Forbidden');
  });

  it('wraps fetch failures in NetworkError', async () => {
    const settings = fakeSettings(() => {
      throw new TypeError('Failed to fetch');
    });

    const error = await requestAPI('info', {}, settings).catch(
      (e: unknown) => e
    );

    expect(error).toBeInstanceOf(ServerConnection.NetworkError);
    expect(describeError(error)).toBe(
      'Could not reach the Jupyter server: Failed to fetch'
    );
  });

  it('rejects an ok response whose body is not JSON', async () => {
    const settings = fakeSettings(() => new Response('<html></html>'));

    await expect(requestAPI('info', {}, settings)).rejects.toThrow(
      /Invalid JSON/
    );
  });
});
