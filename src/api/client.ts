import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { ModelVault } from '../tokens';
import { requestAPI, VaultResponseError } from './request';

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

  /**
   * `GET modelvault/api/repositories/{key}/hub`: one page of the Hub repos of an hf repository.
   */
  async listHubRepos(
    key: string,
    options: { type?: string; after?: string | null; limit?: number } = {}
  ): Promise<ModelVault.IHubRepoPage> {
    const query: Record<string, string> = {};
    if (options.type) {
      query.type = options.type;
    }
    if (options.after) {
      query.after = options.after;
    }
    if (options.limit) {
      query.limit = String(options.limit);
    }
    const body = await requestAPI<ModelVault.IHubRepoPage>(
      `repositories/${encodeURIComponent(key)}/hub`,
      { method: 'GET' },
      this.serverSettings,
      query
    );
    return { repos: body?.repos ?? [], next: body?.next ?? null };
  }

  /**
   * `GET modelvault/api/repositories/{key}/hub/{type}s/{ns}/{name}/files`: one page of a
   * Hub repo's files with verdicts; the first page (no `after`) adds licence and decision.
   */
  async listFiles(
    key: string,
    repoType: string,
    repoId: string,
    options: { revision?: string; after?: string | null; limit?: number } = {}
  ): Promise<ModelVault.IFilePage> {
    const query: Record<string, string> = {};
    if (options.revision) {
      query.revision = options.revision;
    }
    if (options.after) {
      query.after = options.after;
    }
    if (options.limit) {
      query.limit = String(options.limit);
    }
    const [namespace, name] = Private.splitRepoId(repoId);
    return requestAPI<ModelVault.IFilePage>(
      [
        'repositories',
        encodeURIComponent(key),
        'hub',
        `${repoType}s`,
        encodeURIComponent(namespace),
        encodeURIComponent(name),
        'files'
      ].join('/'),
      { method: 'GET' },
      this.serverSettings,
      query
    );
  }

  /**
   * `GET modelvault/api/activity`: long operations in progress the user may see.
   */
  async getActivity(): Promise<ModelVault.IActivity[]> {
    const body = await requestAPI<Partial<ModelVault.IActivityList>>(
      'activity',
      { method: 'GET' },
      this.serverSettings
    );
    return body?.operations ?? [];
  }

  /**
   * `GET modelvault/api/repositories/{key}/packages`: projects of a PyPI repository.
   */
  async listPackageProjects(key: string): Promise<string[]> {
    const body = await requestAPI<Partial<ModelVault.IPackageProjects>>(
      `repositories/${encodeURIComponent(key)}/packages`,
      { method: 'GET' },
      this.serverSettings
    );
    return body?.projects ?? [];
  }

  /**
   * `GET modelvault/api/repositories/{key}/packages/{project}`: its stored files.
   */
  async listPackageFiles(
    key: string,
    project: string
  ): Promise<ModelVault.IPackageFile[]> {
    const body = await requestAPI<Partial<ModelVault.IPackageFiles>>(
      `repositories/${encodeURIComponent(key)}/packages/${encodeURIComponent(project)}`,
      { method: 'GET' },
      this.serverSettings
    );
    return body?.files ?? [];
  }

  /**
   * `GET modelvault/api/files`: the vault's generic files.
   */
  async listGenericFiles(): Promise<ModelVault.IGenericFile[]> {
    const body = await requestAPI<Partial<ModelVault.IGenericFileList>>(
      'files',
      { method: 'GET' },
      this.serverSettings
    );
    return body?.files ?? [];
  }

  /**
   * `GET modelvault/api/scans/{sha256}`: a blob's scan report.
   */
  async getScan(sha256: string): Promise<ModelVault.IScan> {
    return requestAPI<ModelVault.IScan>(
      `scans/${encodeURIComponent(sha256)}`,
      { method: 'GET' },
      this.serverSettings
    );
  }

  /**
   * `POST modelvault/api/scans/{sha256}`: scan the blob again (admin).
   */
  async rescan(sha256: string): Promise<ModelVault.IScan> {
    return requestAPI<ModelVault.IScan>(
      `scans/${encodeURIComponent(sha256)}`,
      { method: 'POST' },
      this.serverSettings
    );
  }

  /**
   * `GET modelvault/api/violations`: recent blocks and warnings, and flagged blobs.
   */
  async getViolations(): Promise<ModelVault.IViolations> {
    const body = await requestAPI<ModelVault.IViolations>(
      'violations',
      { method: 'GET' },
      this.serverSettings
    );
    return {
      events: body?.events ?? [],
      flagged_blobs: body?.flagged_blobs ?? []
    };
  }

  /**
   * `GET modelvault/api/policies`: global policies, each with a summary of its effect.
   */
  async listPolicies(): Promise<ModelVault.IPolicy[]> {
    const body = await requestAPI<Partial<ModelVault.IPolicyList>>(
      'policies',
      { method: 'GET' },
      this.serverSettings
    );
    return body?.policies ?? [];
  }

  /**
   * `GET modelvault/api/waivers?all=`: waivers, with expired and revoked ones if `all`.
   */
  async listWaivers(all = true): Promise<ModelVault.IWaiver[]> {
    const body = await requestAPI<Partial<ModelVault.IWaiverList>>(
      'waivers',
      { method: 'GET' },
      this.serverSettings,
      all ? { all: 'true' } : {}
    );
    return body?.waivers ?? [];
  }

  /**
   * `POST modelvault/api/waivers`: grant a waiver (admin).
   */
  async grantWaiver(
    request: ModelVault.IWaiverRequest
  ): Promise<ModelVault.IWaiver> {
    return requestAPI<ModelVault.IWaiver>(
      'waivers',
      { method: 'POST', body: JSON.stringify(request) },
      this.serverSettings
    );
  }

  /**
   * `DELETE modelvault/api/waivers/{id}`: revoke a waiver (admin).
   */
  async revokeWaiver(id: number): Promise<void> {
    await requestAPI<void>(
      `waivers/${encodeURIComponent(String(id))}`,
      { method: 'DELETE' },
      this.serverSettings
    );
  }

  /**
   * `GET modelvault/api/audit`: audit events, newest first (admin).
   */
  async queryAudit(
    options: { subject?: string; action?: string; limit?: number } = {}
  ): Promise<ModelVault.IAuditEvent[]> {
    const query: Record<string, string> = {};
    if (options.subject) {
      query.subject = options.subject;
    }
    if (options.action) {
      query.action = options.action;
    }
    query.limit = String(options.limit ?? 50);
    const body = await requestAPI<Partial<ModelVault.IAuditPage>>(
      'audit',
      { method: 'GET' },
      this.serverSettings,
      query
    );
    return body?.events ?? [];
  }

  /**
   * `POST modelvault/api/tokens`: mint a token; its secret is in the answer only.
   */
  async mintToken(
    request: ModelVault.ITokenRequest
  ): Promise<ModelVault.IIssuedToken> {
    return requestAPI<ModelVault.IIssuedToken>(
      'tokens',
      { method: 'POST', body: JSON.stringify(request) },
      this.serverSettings
    );
  }

  /**
   * `GET modelvault/api/bundles`: release bundles.
   *
   * @returns `null` when the server has no bundles API yet (404 without error code).
   */
  async listBundles(): Promise<ModelVault.IBundle[] | null> {
    const list = await this.getBundleList();
    return list ? list.bundles : null;
  }

  /**
   * `GET modelvault/api/bundles`: the ordered environments and the bundles.
   *
   * @returns `null` when the server has no bundles API yet (404 without error code).
   */
  async getBundleList(): Promise<ModelVault.IBundleList | null> {
    try {
      const body = await requestAPI<Partial<ModelVault.IBundleList>>(
        'bundles',
        { method: 'GET' },
        this.serverSettings
      );
      return {
        environments: body?.environments ?? [],
        bundles: body?.bundles ?? []
      };
    } catch (error) {
      if (
        error instanceof VaultResponseError &&
        error.status === 404 &&
        error.code === null
      ) {
        return null;
      }
      throw error;
    }
  }

  /**
   * `POST modelvault/api/bundles`: create a bundle. A refusal by policy throws a
   * `VaultResponseError` with code `BundleBlocked` (see `bundleViolations`).
   */
  async createBundle(
    request: ModelVault.IBundleCreateRequest
  ): Promise<ModelVault.IBundleDetail> {
    return requestAPI<ModelVault.IBundleDetail>(
      'bundles',
      { method: 'POST', body: JSON.stringify(request) },
      this.serverSettings
    );
  }

  /**
   * `GET modelvault/api/bundles/{name}/{version}`: manifest, signature and promotions.
   */
  async getBundle(
    name: string,
    version: string
  ): Promise<ModelVault.IBundleDetail> {
    return requestAPI<ModelVault.IBundleDetail>(
      Private.bundlePath(name, version),
      { method: 'GET' },
      this.serverSettings
    );
  }

  /**
   * `GET modelvault/api/bundles/{name}/{version}/verify`: re-check signature and blobs.
   */
  async verifyBundle(
    name: string,
    version: string
  ): Promise<ModelVault.IBundleVerifyReport> {
    return requestAPI<ModelVault.IBundleVerifyReport>(
      `${Private.bundlePath(name, version)}/verify`,
      { method: 'GET' },
      this.serverSettings
    );
  }

  /**
   * `POST modelvault/api/bundles/{name}/{version}/promote`: promote (admin).
   */
  async promoteBundle(
    name: string,
    version: string,
    to: string
  ): Promise<ModelVault.IBundleDetail> {
    return requestAPI<ModelVault.IBundleDetail>(
      `${Private.bundlePath(name, version)}/promote`,
      { method: 'POST', body: JSON.stringify({ to }) },
      this.serverSettings
    );
  }

  /**
   * The URL of a bundle download (`archive` or `bom`), below the server's base URL.
   */
  bundleDownloadUrl(
    name: string,
    version: string,
    what: 'archive' | 'bom'
  ): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      'modelvault',
      'api',
      Private.bundlePath(name, version),
      what
    );
  }

  /**
   * Download a bundle's archive or AI-BOM as a blob, through
   * `ServerConnection.makeRequest` (which carries the Jupyter token and XSRF
   * header that a plain link cannot).
   */
  async downloadBundle(
    name: string,
    version: string,
    what: 'archive' | 'bom'
  ): Promise<Blob> {
    const url = this.bundleDownloadUrl(name, version, what);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        { method: 'GET' },
        this.serverSettings
      );
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    if (!response.ok) {
      let body: unknown = undefined;
      try {
        body = JSON.parse(await response.text());
      } catch {
        body = undefined;
      }
      throw VaultResponseError.fromResponse(response, body);
    }
    return response.blob();
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

/**
 * Module internals.
 */
namespace Private {
  /**
   * The API path of a bundle.
   */
  export function bundlePath(name: string, version: string): string {
    return `bundles/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
  }

  /**
   * Split `namespace/name` (a repo id without namespace has an empty namespace).
   */
  export function splitRepoId(repoId: string): [string, string] {
    const slash = repoId.indexOf('/');
    return slash < 0
      ? ['', repoId]
      : [repoId.slice(0, slash), repoId.slice(slash + 1)];
  }
}

/**
 * The blocking violations of a refused bundle creation (`403 BundleBlocked`),
 * or `null` if the error is something else.
 */
export function bundleViolations(
  error: unknown
): ModelVault.IBundleViolation[] | null {
  if (
    !(error instanceof VaultResponseError) ||
    error.code !== 'BundleBlocked'
  ) {
    return null;
  }
  const details = error.details as
    { violations?: ModelVault.IBundleViolation[] } | undefined;
  return Array.isArray(details?.violations) ? details!.violations : [];
}
