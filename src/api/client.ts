import { ServerConnection } from '@jupyterlab/services';

import type { ModelVault } from '../tokens';
import { requestAPI } from './request';

/**
 * Typed client of the ModelVault sidebar API: one method per endpoint.
 */
export class VaultClient {
  /**
   * Create a client.
   */
  constructor(options: VaultClient.IOptions) {
    this.serverSettings = options.serverSettings;
  }

  /**
   * The Jupyter server connection settings used for every request.
   */
  readonly serverSettings: ServerConnection.ISettings;

  /**
   * `GET modelvault/api/info`: server name, version and current user.
   *
   * @param frontendVersion Sent as `?version=` so that the server can log mismatches.
   */
  async getInfo(frontendVersion?: string): Promise<ModelVault.IServerInfo> {
    const query: Record<string, string> = {};
    if (frontendVersion) {
      query.version = frontendVersion;
    }
    return requestAPI<ModelVault.IServerInfo>(
      'info',
      { method: 'GET' },
      this.serverSettings,
      query
    );
  }

  /**
   * `GET modelvault/api/repositories`: every repository of the vault.
   */
  async listRepositories(): Promise<ModelVault.IRepository[]> {
    const body = await requestAPI<ModelVault.IRepositoryList>(
      'repositories',
      { method: 'GET' },
      this.serverSettings
    );
    if (!body || !Array.isArray(body.repositories)) {
      throw new Error(
        'Unexpected response from modelvault/api/repositories: no "repositories" list'
      );
    }
    return body.repositories;
  }
}

/**
 * The static namespace for `VaultClient`.
 */
export namespace VaultClient {
  /**
   * Options to create a `VaultClient`.
   */
  export interface IOptions {
    /**
     * The Jupyter server connection settings, e.g. `app.serviceManager.serverSettings`.
     */
    serverSettings: ServerConnection.ISettings;
  }
}
