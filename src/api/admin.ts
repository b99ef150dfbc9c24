import type { ServerConnection } from '@jupyterlab/services';

import type { components } from './schema';
import { requestAPI } from './request';

type Schemas = components['schemas'];

/**
 * Wire types of the admin views (generated from the OpenAPI description).
 */
export namespace Admin {
  export type IRepository = Schemas['Repository'];
  export type IRepositoryCreate = Schemas['RepositoryCreate'];
  export type IRepositoryUpdate = Schemas['RepositoryUpdate'];
  export type RepositoryKind = Schemas['RepositoryKind'];
  export type IPolicy = Schemas['Policy'];
  export type IPolicyPreview = Schemas['PolicyPreview'];
  export type IPolicyPreviewItem = Schemas['PolicyPreviewItem'];
  export type IToken = Schemas['Token'];
}

/**
 * Client of the admin endpoints: repositories, global policies (with the
 * dry-run preview) and tokens. The server checks every call; the views only
 * offer what `info.user.admin` says the user may do.
 */
export class AdminClient {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /**
   * `GET repositories`.
   */
  async listRepositories(): Promise<Admin.IRepository[]> {
    const body = await this._request<Schemas['RepositoryList']>(
      'repositories',
      { method: 'GET' }
    );
    return body?.repositories ?? [];
  }

  /**
   * `POST repositories`.
   */
  createRepository(body: Admin.IRepositoryCreate): Promise<Admin.IRepository> {
    return this._request('repositories', {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  /**
   * `PATCH repositories/{key}`: `config` replaces the stored one (masked
   * secrets sent back unchanged are kept).
   */
  updateRepository(
    key: string,
    body: Admin.IRepositoryUpdate
  ): Promise<Admin.IRepository> {
    return this._request(`repositories/${encodeURIComponent(key)}`, {
      method: 'PATCH',
      body: JSON.stringify(body)
    });
  }

  /**
   * `DELETE repositories/{key}`.
   */
  async deleteRepository(key: string): Promise<void> {
    await this._request<void>(`repositories/${encodeURIComponent(key)}`, {
      method: 'DELETE'
    });
  }

  /**
   * `GET policies`: the global list (switched-off defaults included).
   */
  async listPolicies(): Promise<Admin.IPolicy[]> {
    const body = await this._request<Schemas['PolicyList']>('policies', {
      method: 'GET'
    });
    return body?.policies ?? [];
  }

  /**
   * `PUT policies`.
   */
  async setPolicies(policies: Admin.IPolicy[]): Promise<Admin.IPolicy[]> {
    const body = await this._request<Schemas['PolicyList']>('policies', {
      method: 'PUT',
      body: JSON.stringify({ policies })
    });
    return body?.policies ?? [];
  }

  /**
   * `POST policies/preview`: what `policies` would block; nothing is saved.
   */
  previewPolicies(policies: Admin.IPolicy[]): Promise<Admin.IPolicyPreview> {
    return this._request('policies/preview', {
      method: 'POST',
      body: JSON.stringify({ policies })
    });
  }

  /**
   * `GET tokens`.
   */
  async listTokens(): Promise<Admin.IToken[]> {
    const body = await this._request<Schemas['TokenList']>('tokens', {
      method: 'GET'
    });
    return body?.tokens ?? [];
  }

  /**
   * `DELETE tokens/{id}` (the tokens it minted lose access too).
   */
  async revokeToken(id: string): Promise<void> {
    await this._request<void>(`tokens/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  private _request<T>(path: string, init: RequestInit): Promise<T> {
    return requestAPI<T>(path, init, this.serverSettings);
  }
}
